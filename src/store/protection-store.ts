/** ProtectionStore over Kysely (SQLite and PostgreSQL); see protection-types.ts. */
import type { Kysely, Selectable } from 'kysely';
import type { AccountLockoutRecord, DeviceProtection, ProtectionStore } from './protection-types.ts';
import type { AccountLockoutsTable, Database, DeviceProtectionTable } from './schema.ts';
import { StoreError } from './types.ts';

export class KyselyProtectionStore implements ProtectionStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => Date,
  ) {}

  async recordThrottle(userId: string, deviceId: string, reason: string, until: Date): Promise<void> {
    const ts = this.now().toISOString();
    const untilTs = until.toISOString();
    await guard(deviceId, () =>
      this.db
        .insertInto('device_protection')
        .values({ ...EMPTY, user_id: userId, device_id: deviceId, throttles: 1, last_throttle_at: ts, last_throttle_reason: reason, throttled_until: untilTs })
        .onConflict((oc) =>
          oc.columns(['user_id', 'device_id']).doUpdateSet((eb) => ({
            throttles: eb('device_protection.throttles', '+', 1),
            last_throttle_at: ts,
            last_throttle_reason: reason,
            throttled_until: untilTs,
          })),
        )
        .execute(),
    );
  }

  async recordThrottles(events: ReadonlyArray<{ userId: string; deviceId: string; reason: string; until: Date }>): Promise<void> {
    if (events.length === 0) return;
    const ts = this.now().toISOString();
    await this.db.transaction().execute(async (trx) => {
      // Devices removed meanwhile are skipped: only partnerships that exist get a row.
      const known = new Set(
        (await trx.selectFrom('devices').select(['user_id', 'device_id']).where('user_id', 'in', [...new Set(events.map((e) => e.userId))]).execute()).map((r) => `${r.user_id}\0${r.device_id}`),
      );
      for (const e of events) {
        if (!known.has(`${e.userId}\0${e.deviceId}`)) continue;
        const untilTs = e.until.toISOString();
        await trx
          .insertInto('device_protection')
          .values({ ...EMPTY, user_id: e.userId, device_id: e.deviceId, throttles: 1, last_throttle_at: ts, last_throttle_reason: e.reason, throttled_until: untilTs })
          .onConflict((oc) =>
            oc.columns(['user_id', 'device_id']).doUpdateSet((eb) => ({
              throttles: eb('device_protection.throttles', '+', 1),
              last_throttle_at: ts,
              last_throttle_reason: e.reason,
              throttled_until: untilTs,
            })),
          )
          .execute();
      }
    });
  }

  async recordLoop(userId: string, deviceId: string, command: string): Promise<void> {
    const ts = this.now().toISOString();
    await guard(deviceId, () =>
      this.db
        .insertInto('device_protection')
        .values({ ...EMPTY, user_id: userId, device_id: deviceId, loops: 1, last_loop_at: ts, last_loop_command: command })
        .onConflict((oc) =>
          oc.columns(['user_id', 'device_id']).doUpdateSet((eb) => ({ loops: eb('device_protection.loops', '+', 1), last_loop_at: ts, last_loop_command: command })),
        )
        .execute(),
    );
  }

  async getAccountLockout(login: string): Promise<AccountLockoutRecord | null> {
    const row = await this.db.selectFrom('account_lockouts').selectAll().where('login', '=', login).executeTakeFirst();
    return row ? toLockout(row) : null;
  }

  async recordAccountLockout(e: { login: string; startedAt: Date; blockedUntil: Date; failures: number; lastAddress: string }): Promise<void> {
    const v = { started_at: e.startedAt.toISOString(), blocked_until: e.blockedUntil.toISOString(), failures: e.failures, last_address: e.lastAddress };
    await this.db
      .insertInto('account_lockouts')
      .values({ login: e.login, ...v, blocks: 1, unlocked_at: null, admit_device: null, admit_until: null })
      .onConflict((oc) => oc.column('login').doUpdateSet((eb) => ({ ...v, blocks: eb('account_lockouts.blocks', '+', 1) })))
      .execute();
  }

  async unlockAccount(login: string, admitDevice: string | null, admitUntil: Date | null): Promise<void> {
    const v = { unlocked_at: this.now().toISOString(), blocked_until: null, admit_device: admitDevice, admit_until: admitUntil?.toISOString() ?? null };
    await this.db
      .insertInto('account_lockouts')
      .values({ login, started_at: null, failures: 0, last_address: null, blocks: 0, ...v })
      .onConflict((oc) => oc.column('login').doUpdateSet(v))
      .execute();
  }

  async get(userId: string, deviceId: string): Promise<DeviceProtection | null> {
    const row = await this.db.selectFrom('device_protection').selectAll().where('user_id', '=', userId).where('device_id', '=', deviceId).executeTakeFirst();
    return row ? toProtection(row) : null;
  }

  async list(userId?: string): Promise<DeviceProtection[]> {
    let q = this.db.selectFrom('device_protection').selectAll();
    if (userId !== undefined) q = q.where('user_id', '=', userId);
    return (await q.orderBy('user_id').orderBy('device_id').execute()).map(toProtection);
  }
}

const EMPTY = {
  throttles: 0,
  last_throttle_at: null,
  last_throttle_reason: null,
  throttled_until: null,
  loops: 0,
  last_loop_at: null,
  last_loop_command: null,
};

async function guard(deviceId: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    if (code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY') throw new StoreError('not_found', `device ${deviceId}: no such partnership`, { cause: err });
    throw err;
  }
}

function toProtection(r: Selectable<DeviceProtectionTable>): DeviceProtection {
  const d = (v: string | null) => (v === null ? null : new Date(v));
  return {
    userId: r.user_id,
    deviceId: r.device_id,
    throttles: Number(r.throttles),
    lastThrottleAt: d(r.last_throttle_at),
    lastThrottleReason: r.last_throttle_reason,
    throttledUntil: d(r.throttled_until),
    loops: Number(r.loops),
    lastLoopAt: d(r.last_loop_at),
    lastLoopCommand: r.last_loop_command,
  };
}

function toLockout(r: Selectable<AccountLockoutsTable>): AccountLockoutRecord {
  const d = (v: string | null) => (v === null ? null : new Date(v));
  return {
    login: r.login,
    startedAt: d(r.started_at),
    blockedUntil: d(r.blocked_until),
    failures: Number(r.failures),
    lastAddress: r.last_address,
    blocks: Number(r.blocks),
    unlockedAt: d(r.unlocked_at),
    admitDevice: r.admit_device,
    admitUntil: d(r.admit_until),
  };
}
