/**
 * DevicesStore over Kysely (SQLite and PostgreSQL); see devices-types.ts. JSON is text on both
 * dialects; revisions are int8 (a string from pg).
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DevicesStore, StoredAccessRule, StoredDeviceState, StoredPolicy } from './devices-types.ts';
import type { Database } from './schema.ts';
import { StoreError, type JsonObject } from './types.ts';

export class KyselyDevicesStore implements DevicesStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => Date,
  ) {}

  async listPolicies(): Promise<StoredPolicy[]> {
    const rows = await this.db.selectFrom('device_policies').selectAll().orderBy('name').execute();
    return rows.map(toPolicy);
  }

  async getPolicy(name: string): Promise<StoredPolicy | null> {
    const row = await this.db.selectFrom('device_policies').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? toPolicy(row) : null;
  }

  async putPolicy(name: string, settings: JsonObject): Promise<StoredPolicy> {
    if (typeof name !== 'string' || name.trim() === '') throw new StoreError('invalid', 'policy name is empty');
    const text = json(settings, 'policy settings');
    const ts = this.now().toISOString();
    const row = await this.db
      .insertInto('device_policies')
      .values({ name, settings: text, revision: 1, updated_at: ts })
      .onConflict((oc) =>
        oc.column('name').doUpdateSet((eb) => ({ settings: text, updated_at: ts, revision: eb('device_policies.revision', '+', 1) })),
      )
      .returningAll()
      .executeTakeFirstOrThrow();
    return toPolicy(row);
  }

  async deletePolicy(name: string): Promise<void> {
    const row = await this.db.deleteFrom('device_policies').where('name', '=', name).returning('name').executeTakeFirst();
    if (!row) throw new StoreError('not_found', `policy ${name} not found`);
  }

  async assignPolicy(userId: string, policyName: string | null): Promise<void> {
    if (policyName === null) {
      await this.db.deleteFrom('device_policy_assignments').where('user_id', '=', userId).execute();
      return;
    }
    const ts = this.now().toISOString();
    try {
      await this.db
        .insertInto('device_policy_assignments')
        .values({ user_id: userId, policy_name: policyName, updated_at: ts })
        .onConflict((oc) => oc.column('user_id').doUpdateSet({ policy_name: policyName, updated_at: ts }))
        .execute();
    } catch (err) {
      throw mapFk(err, `user ${userId} or policy ${policyName}`);
    }
  }

  async getAssignedPolicy(userId: string): Promise<string | null> {
    const row = await this.db.selectFrom('device_policy_assignments').select('policy_name').where('user_id', '=', userId).executeTakeFirst();
    return row?.policy_name ?? null;
  }

  async getSetting(name: string): Promise<string | null> {
    const row = await this.db.selectFrom('device_settings').select('value').where('name', '=', name).executeTakeFirst();
    return row?.value ?? null;
  }

  async listSettings(prefix: string): Promise<Array<{ name: string; value: string }>> {
    const rows = await this.db.selectFrom('device_settings').select(['name', 'value']).orderBy('name').execute();
    // Filtered here, not with LIKE: a prefix may hold % or _, and the table is a handful of rows.
    return rows.filter((r) => r.name.startsWith(prefix));
  }

  async putSetting(name: string, value: string | null): Promise<void> {
    if (value === null) {
      await this.db.deleteFrom('device_settings').where('name', '=', name).execute();
      return;
    }
    await this.db
      .insertInto('device_settings')
      .values({ name, value })
      .onConflict((oc) => oc.column('name').doUpdateSet({ value }))
      .execute();
  }

  async listRules(): Promise<StoredAccessRule[]> {
    const rows = await this.db.selectFrom('device_access_rules').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map(toRule);
  }

  async addRule(rule: { field: string; pattern: string; access: string }): Promise<StoredAccessRule> {
    for (const k of ['field', 'pattern', 'access'] as const) {
      if (typeof rule[k] !== 'string' || rule[k] === '') throw new StoreError('invalid', `rule ${k} is empty`);
    }
    const row = await this.db
      .insertInto('device_access_rules')
      .values({ id: randomUUID(), field: rule.field, pattern: rule.pattern, access: rule.access, created_at: this.now().toISOString() })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toRule(row);
  }

  async removeRule(id: string): Promise<void> {
    const row = await this.db.deleteFrom('device_access_rules').where('id', '=', id).returning('id').executeTakeFirst();
    if (!row) throw new StoreError('not_found', `rule ${id} not found`);
  }

  async getDeviceState(userId: string, deviceId: string): Promise<StoredDeviceState | null> {
    const row = await this.db
      .selectFrom('device_states')
      .selectAll()
      .where('user_id', '=', userId)
      .where('device_id', '=', deviceId)
      .executeTakeFirst();
    return row ? toState(row) : null;
  }

  async listDeviceStates(userId?: string): Promise<StoredDeviceState[]> {
    let q = this.db.selectFrom('device_states').selectAll();
    if (userId !== undefined) q = q.where('user_id', '=', userId);
    const rows = await q.orderBy('user_id').orderBy('device_id').execute();
    return rows.map(toState);
  }

  async putDeviceState(userId: string, deviceId: string, data: JsonObject): Promise<StoredDeviceState> {
    const text = json(data, 'device state');
    const ts = this.now().toISOString();
    try {
      const row = await this.db
        .insertInto('device_states')
        .values({ user_id: userId, device_id: deviceId, data: text, updated_at: ts })
        .onConflict((oc) => oc.columns(['user_id', 'device_id']).doUpdateSet({ data: text, updated_at: ts }))
        .returningAll()
        .executeTakeFirstOrThrow();
      return toState(row);
    } catch (err) {
      throw mapFk(err, `device ${deviceId}`);
    }
  }
}

function json(data: JsonObject, what: string): string {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new StoreError('invalid', `${what} must be a JSON object`);
  return JSON.stringify(data);
}

function mapFk(err: unknown, what: string): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
    return new StoreError('not_found', `${what}: a referenced row does not exist`, { cause: err });
  }
  return err;
}

function toPolicy(r: { name: string; settings: string; revision: number | string; updated_at: string }): StoredPolicy {
  return { name: r.name, settings: JSON.parse(r.settings) as JsonObject, revision: Number(r.revision), updatedAt: new Date(r.updated_at) };
}

function toRule(r: { id: string; field: string; pattern: string; access: string; created_at: string }): StoredAccessRule {
  return { id: r.id, field: r.field, pattern: r.pattern, access: r.access, createdAt: new Date(r.created_at) };
}

function toState(r: { user_id: string; device_id: string; data: string; updated_at: string }): StoredDeviceState {
  return { userId: r.user_id, deviceId: r.device_id, data: JSON.parse(r.data) as JsonObject, updatedAt: new Date(r.updated_at) };
}
