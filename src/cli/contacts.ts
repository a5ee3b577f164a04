import { readFile, writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { exportVCardFile, importVCardFile } from '../contacts/address-book.ts';
import { VCardError, type VCardVersion } from '../contacts/vcard.ts';
import { StoreMailbox } from '../store/store-mailbox.ts';
import type { Store, User } from '../store/types.ts';
import { addStoreOptions, openStoreFrom, type StoreCliOptions } from './options.ts';

interface ExportOptions extends StoreCliOptions {
  out?: string;
  vcardVersion: VCardVersion;
}

async function withUser<T>(opts: StoreCliOptions, email: string, run: (store: Store, user: User) => Promise<T>): Promise<T> {
  const store = await openStoreFrom(opts);
  try {
    const user = await store.getUserByEmail(email);
    if (!user) throw new Error(`no user ${email}`);
    return await run(store, user);
  } finally {
    await store.close();
  }
}

/** `easd contacts import|export`: a user's address book from and to vCard files (src/contacts). */
export function registerContacts(program: Command): void {
  const contacts = program.command('contacts').description("import and export a user's contacts as vCards");

  addStoreOptions(
    contacts
      .command('import <email> <file>')
      .description('import a vCard 3.0 or 4.0 file (.vcf); contacts already there are updated, not duplicated'),
  ).action(async (email: string, file: string, opts: StoreCliOptions) => {
    const bytes = await readFile(file).catch((err: NodeJS.ErrnoException) => {
      throw new Error(`cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
    });
    await withUser(opts, email, async (store, user) => {
      try {
        const r = await importVCardFile(new StoreMailbox(store, user.id), bytes);
        for (const w of r.warnings) process.stderr.write(`easd: warning: ${w}\n`);
        process.stdout.write(`${user.email}: ${r.added} added, ${r.updated} updated, ${r.unchanged} unchanged\n`);
      } catch (err) {
        // A file that cannot be read changes nothing: say what is wrong and where.
        if (err instanceof VCardError) throw new Error(`${file}: ${err.message}; nothing imported`);
        throw err;
      }
    });
  });

  addStoreOptions(
    contacts
      .command('export <email>')
      .description("write the user's contacts as vCards (to standard output, or to --out FILE)")
      .option('--out <file>', 'write to this file instead of standard output')
      .addOption(new Option('--vcard-version <version>', 'vCard version to write').choices(['3.0', '4.0']).default('4.0')),
  ).action(async (email: string, opts: ExportOptions) => {
    await withUser(opts, email, async (store, user) => {
      const { text, count } = await exportVCardFile(new StoreMailbox(store, user.id), opts.vcardVersion);
      if (opts.out) {
        await writeFile(opts.out, text);
        process.stderr.write(`${user.email}: ${count} contacts written to ${opts.out}\n`);
      } else {
        process.stdout.write(text);
      }
    });
  });
}
