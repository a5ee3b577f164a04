/**
 * Device management (src/store/devices-types.ts): named policies, their assignment to users,
 * global device settings, access rules, and one state record per device partnership.
 * Assignments go with their user and their policy, device states with their device
 * (ON DELETE CASCADE).
 * Written against Kysely<any>: a migration is frozen history.
 */
import type { Kysely, Migration } from 'kysely';

export const devices: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('device_policies')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('settings', 'text', (c) => c.notNull())
      .addColumn('revision', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('device_policy_assignments')
      .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
      .addColumn('policy_name', 'text', (c) => c.notNull().references('device_policies.name').onDelete('cascade'))
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('device_settings')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('device_access_rules')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('field', 'text', (c) => c.notNull())
      .addColumn('pattern', 'text', (c) => c.notNull())
      .addColumn('access', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('device_states')
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('device_id', 'text', (c) => c.notNull())
      .addColumn('data', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('device_states_pkey', ['user_id', 'device_id'])
      .addForeignKeyConstraint('device_states_device_fkey', ['user_id', 'device_id'], 'devices', ['user_id', 'device_id'], (fk) =>
        fk.onDelete('cascade'),
      )
      .execute();
  },

  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('device_states').execute();
    await db.schema.dropTable('device_access_rules').execute();
    await db.schema.dropTable('device_settings').execute();
    await db.schema.dropTable('device_policy_assignments').execute();
    await db.schema.dropTable('device_policies').execute();
  },
};
