/**
 * The entity types, the StoreError family and the Store interface moved to src/ports/ (types.ts
 * and store.ts), below every layer that uses them; this file keeps re-exporting them so the
 * store's own modules and the tests keep their imports. Code outside src/store/ and src/cli/
 * imports src/ports/ (scripts/check-layers.ts).
 */
export * from '../ports/types.ts';
export type { Store } from '../ports/store.ts';

/** Options shared by both backends. */
export interface StoreOptions {
  /** Clock for createdAt/updatedAt/firstSeen/lastSeen; tests inject a fake one. */
  now?: () => Date;
}
