/**
 * Migrations live in code (no files read from disk at run time) and are applied at open by
 * Kysely's Migrator. Names sort in application order; never rename or edit a shipped one, add
 * the next instead.
 */
import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { initial } from './0001_initial.ts';
import { sync } from './0002_sync.ts';
import { mail } from './0003_mail.ts';
import { devices } from './0007_devices.ts';
import { protection } from './0009_protection.ts';
import { directory } from './0006_directory.ts';
import { sending } from './0004_sending.ts';
import { homes } from './0010_homes.ts';
import { resources } from './0012_resources.ts';
import { syncNotices } from './0013_sync_notices.ts';
import { certificates } from './0014_certificates.ts';
import { heldItems } from './0015_held_items.ts';
import { blobChunks } from './0016_blob_chunks.ts';
import { accountLockouts } from './0017_account_lockouts.ts';

export const migrations: Readonly<Record<string, Migration>> = {
  '0001_initial': initial,
  '0002_sync': sync,
  '0003_mail': mail,
  '0006_directory': directory,
  '0004_sending': sending,
  '0007_devices': devices,
  '0009_protection': protection,
  '0010_homes': homes,
  '0012_resources': resources,
  '0013_sync_notices': syncNotices,
  '0014_certificates': certificates,
  '0015_held_items': heldItems,
  '0016_blob_chunks': blobChunks,
  '0017_account_lockouts': accountLockouts,
};

const provider: MigrationProvider = {
  async getMigrations() {
    return { ...migrations };
  },
};

/**
 * Applies pending migrations. `schema` (PostgreSQL) names where Kysely's bookkeeping tables
 * live; it must be given there, because without it Kysely's check for its migration table
 * matches a table of that name in any schema of the database.
 */
export async function migrateToLatest(db: Kysely<any>, opts: { schema?: string } = {}): Promise<void> {
  const migrator = new Migrator({
    db,
    provider,
    // Names are ASCII: a plain comparison orders them as localeCompare (Kysely's default) does,
    // without building an ICU collator, a tenth of a CLI command's start-up.
    nameComparator: (a, b) => (a < b ? -1 : a > b ? 1 : 0),
    ...(opts.schema !== undefined ? { migrationTableSchema: opts.schema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`store migration ${failed ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}
