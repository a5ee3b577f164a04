import { readFile, stat } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { hashPassword } from '../auth/password.ts';
import { homeEndpoint } from '../http/redirect.ts';
import { MAX_PICTURE_BYTES, RESOURCE_KINDS, type DirectoryEntry, type OofSettings, type ProfileField, type ResourceKind } from '../store/directory-types.ts';
import { isStoreError, type Store, type User } from '../store/types.ts';
import { addStoreOptions, openStoreFrom, type StoreCliOptions } from './options.ts';
import { describeCertificate, parseCertificateFile } from '../directory/certificates.ts';
import { readNewPassword } from './prompt.ts';
import { accountLockout, lockoutText, registerUserUnlock } from './lockout.ts';

interface PasswordOptions extends StoreCliOptions {
  passwordStdin?: boolean;
  displayName?: string;
}

const EMAIL = /^[^\s@]+@[^\s@]+$/;

export function registerUser(program: Command): void {
  const user = program.command('user').description('manage mailbox users');

  addStoreOptions(
    user
      .command('add <email>')
      .description('create a user (asks for the password, or reads it from stdin)')
      .option('--password-stdin', 'read the password from the first line of standard input')
      .option('--display-name <name>', "the user's full name"),
  ).action(async (email: string, opts: PasswordOptions) => {
    if (!EMAIL.test(email)) throw new Error(`not an e-mail address: "${email}"`);
    const password = await readNewPassword(Boolean(opts.passwordStdin));
    const store = await openStoreFrom(opts, { create: true });
    try {
      await store.createUser({ email, passwordHash: await hashPassword(password), displayName: opts.displayName ?? null });
      process.stdout.write(`added ${email.toLowerCase()}\n`);
    } catch (err) {
      if (isStoreError(err, 'conflict')) {
        // Taken as a user's address, or as another user's alias (the store's message names them).
        if (await store.getUserByEmail(email)) throw new Error(`${email} exists already`);
        throw new Error(err.message);
      }
      throw err;
    } finally {
      await store.close();
    }
  });

  addStoreOptions(user.command('list').description('list users')).action(async (opts: StoreCliOptions) => {
    const store = await openStoreFrom(opts);
    try {
      for (const u of await store.listUsers()) {
        process.stdout.write(`${u.email}\t${u.displayName ?? ''}\t${u.createdAt.toISOString()}\n`);
      }
    } finally {
      await store.close();
    }
  });

  addStoreOptions(
    user
      .command('passwd <email>')
      .description("change a user's password")
      .option('--password-stdin', 'read the password from the first line of standard input'),
  ).action(async (email: string, opts: PasswordOptions) => {
    const store = await openStoreFrom(opts);
    try {
      const u = await store.getUserByEmail(email);
      if (!u) throw new Error(`no user ${email}`);
      const password = await readNewPassword(Boolean(opts.passwordStdin));
      await store.setPasswordHash(u.id, await hashPassword(password));
      process.stdout.write(`password of ${u.email} changed\n`);
    } finally {
      await store.close();
    }
  });

  registerUserDirectory(user);
  registerUserUnlock(user);

  addStoreOptions(user.command('remove <email>').description('delete a user with all their mail, folders and devices')).action(
    async (email: string, opts: StoreCliOptions) => {
      const store = await openStoreFrom(opts);
      try {
        const u = await store.getUserByEmail(email);
        if (!u) throw new Error(`no user ${email}`);
        await store.deleteUser(u.id);
        process.stdout.write(`removed ${u.email}\n`);
      } finally {
        await store.close();
      }
    },
  );
}

// ------------------------------------------------------------------ user set / user show

/**
 * One option of `easd user set`: its commander Option and how a given value is applied. To add an
 * option (for example --home-url), push an entry to USER_SET_OPTIONS; `check` runs for every
 * option before anything is written, so a bad value changes nothing.
 */
export interface UserSetOption {
  option: Option;
  /** The commander attribute name of the option (e.g. 'displayName' for --display-name). */
  key: string;
  /** `opts` holds every option given, for an option that depends on another (--allow-expired). */
  check?: (value: unknown, opts: Record<string, unknown>) => Promise<void> | void;
  apply: (store: Store, user: User, value: unknown) => Promise<void>;
}

const field = (flags: string, key: ProfileField | 'displayName', description: string): UserSetOption => ({
  option: new Option(flags, `${description} ("" clears it)`),
  key,
  apply: async (store, user, value) => {
    await store.directory.updateEntry(user.id, { [key]: value as string });
  },
});

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Picture formats devices show: JPEG, PNG, GIF (by their magic numbers). */
export function pictureKind(data: Buffer): 'jpeg' | 'png' | 'gif' | null {
  if (data.length >= 3 && data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) return 'jpeg';
  if (data.length >= 8 && data.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  if (data.length >= 6 && /^GIF8[79]a$/.test(data.subarray(0, 6).toString('latin1'))) return 'gif';
  return null;
}

async function readPicture(file: string): Promise<Buffer> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch {
    throw new Error(`cannot read picture ${file}`);
  }
  if (size > MAX_PICTURE_BYTES) throw new Error(`picture ${file} is ${size} bytes; the limit is ${MAX_PICTURE_BYTES} bytes (${MAX_PICTURE_BYTES / 1024} KB)`);
  const data = await readFile(file);
  if (data.length === 0) throw new Error(`picture ${file} is empty`);
  if (!pictureKind(data)) throw new Error(`picture ${file} is not a JPEG, PNG or GIF image`);
  return data;
}

export const USER_SET_OPTIONS: UserSetOption[] = [
  field('--display-name <name>', 'displayName', "the user's full name"),
  field('--first-name <name>', 'firstName', 'given name'),
  field('--last-name <name>', 'lastName', 'family name'),
  field('--title <title>', 'title', 'job title'),
  field('--phone <number>', 'phone', 'office phone'),
  field('--mobile-phone <number>', 'mobilePhone', 'mobile phone'),
  field('--home-phone <number>', 'homePhone', 'home phone'),
  field('--office <office>', 'office', 'office location'),
  field('--company <company>', 'company', 'company name'),
  {
    option: new Option('--alias <address>', 'an additional address the user receives mail at (repeatable)').argParser(collect),
    key: 'alias',
    check: (value) => {
      for (const a of value as string[]) if (!EMAIL.test(a)) throw new Error(`not an e-mail address: "${a}"`);
    },
    apply: async (store, user, value) => {
      for (const a of value as string[]) {
        try {
          await store.directory.addAlias(user.id, a);
        } catch (err) {
          if (isStoreError(err, 'conflict')) throw new Error(`${a} is already the address of another user`);
          throw err;
        }
      }
    },
  },
  {
    option: new Option('--remove-alias <address>', 'remove an additional address (repeatable)').argParser(collect),
    key: 'removeAlias',
    apply: async (store, user, value) => {
      for (const a of value as string[]) {
        if (!(await store.directory.removeAlias(user.id, a))) throw new Error(`${user.email} has no alias ${a}`);
      }
    },
  },
  {
    option: new Option('--picture <file>', `a JPEG, PNG or GIF picture of at most ${MAX_PICTURE_BYTES / 1024} KB`),
    key: 'picture',
    // Read during the checks, so a file that is too large or not an image changes nothing.
    check: async (value) => {
      pictures.set(value as string, await readPicture(value as string));
    },
    apply: async (store, user, value) => {
      await store.directory.setPicture(user.id, pictures.get(value as string)!);
    },
  },
  {
    // Users homed on another deployment get HTTP 451 to it (src/http/redirect.ts).
    option: new Option('--home-url <url>', 'serve the user from another easd deployment: devices are redirected there ("" clears it)'),
    key: 'homeUrl',
    check: (value) => {
      if (value !== '') homeEndpoint(value as string);
    },
    apply: async (store, user, value) => {
      await store.homes.setUserHome(user.id, value === '' ? null : homeEndpoint(value as string));
    },
  },
  {
    // Resource mailboxes book themselves (src/calendar/resource-booking.ts).
    option: new Option('--resource <kind>', 'make the user a resource mailbox that accepts meeting requests when free and declines conflicts ("none": a person again)').choices([...RESOURCE_KINDS, 'none']),
    key: 'resource',
    apply: async (store, user, value) => {
      await store.directory.setResource(user.id, value === 'none' ? null : (value as ResourceKind));
    },
  },
  {
    // Before --certificate, so both together replace the user's certificates.
    option: new Option('--remove-certificates', "remove all of the user's S/MIME certificates"),
    key: 'removeCertificates',
    apply: async (store, user) => {
      await store.directory.removeCertificates(user.id);
    },
  },
  {
    // ResolveRecipients returns these to devices (src/directory/certificates.ts).
    option: new Option('--certificate <file>', 'add S/MIME certificates: a PEM file with one or more, or one DER certificate (repeatable)').argParser(collect),
    key: 'certificate',
    // Read and checked before anything is written, so a bad file changes nothing.
    check: async (value, opts) => {
      for (const file of value as string[]) certificates.set(file, await readCertificates(file, Boolean(opts.allowExpired)));
    },
    apply: async (store, user, value) => {
      for (const file of value as string[]) for (const der of certificates.get(file)!) await store.directory.addCertificate(user.id, der);
    },
  },
  {
    option: new Option('--allow-expired', 'with --certificate: store certificates that have expired (they are never returned to devices)'),
    key: 'allowExpired',
    check: (_value, opts) => {
      if (opts.certificate === undefined) throw new Error('--allow-expired goes with --certificate');
    },
    apply: async () => {},
  },
  {
    option: new Option('--remove-picture', 'remove the picture'),
    key: 'removePicture',
    apply: async (store, user) => {
      await store.directory.setPicture(user.id, null);
    },
  },
];

const pictures = new Map<string, Buffer>();
const certificates = new Map<string, Buffer[]>();

async function readCertificates(file: string, allowExpired: boolean): Promise<Buffer[]> {
  let data: Buffer;
  try {
    if ((await stat(file)).size > 1024 * 1024) throw new Error(`certificate file ${file} is larger than 1 MB`);
    data = await readFile(file);
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('certificate file')) throw err;
    throw new Error(`cannot read certificate file ${file}`);
  }
  const ders = parseCertificateFile(data, file);
  if (!allowExpired) {
    for (const der of ders) {
      const c = describeCertificate(der);
      if (c.notAfter.getTime() < Date.now()) {
        throw new Error(`certificate ${c.subject} in ${file} expired on ${c.notAfter.toISOString()}; devices are never given expired certificates (--allow-expired stores it anyway)`);
      }
    }
  }
  return ders;
}

function formatCertificates(ders: Buffer[]): string {
  return ders
    .map((der) => {
      const c = describeCertificate(der);
      return `certificate: subject ${c.subject}; issuer ${c.issuer}; serial ${c.serialNumber}; not after ${c.notAfter.toISOString()}; sha256 ${c.fingerprint}\n`;
    })
    .join('');
}

function formatUser(entry: DirectoryEntry, oof: OofSettings | null): string {
  const rows: Array<[string, string | null]> = [
    ['email', entry.email],
    ['display name', entry.displayName],
    ['first name', entry.firstName],
    ['last name', entry.lastName],
    ['title', entry.title],
    ['phone', entry.phone],
    ['mobile phone', entry.mobilePhone],
    ['home phone', entry.homePhone],
    ['office', entry.office],
    ['company', entry.company],
    ['aliases', entry.aliases.join(', ') || null],
    ['picture', entry.pictureSize > 0 ? `${entry.pictureSize} bytes` : null],
    [
      'out of office',
      !oof || oof.state === 'disabled' ? 'off' : oof.state === 'global' ? 'on' : `scheduled ${oof.start} to ${oof.end}`,
    ],
  ];
  return rows.map(([k, v]) => `${k}: ${v ?? ''}`).join('\n') + '\n';
}

export function registerUserDirectory(user: Command): void {
  const set = user.command('set <email>').description("change a user's directory details (the global address list)");
  for (const o of USER_SET_OPTIONS) set.addOption(o.option);
  addStoreOptions(set).action(async (email: string, opts: StoreCliOptions & Record<string, unknown>) => {
    const given = USER_SET_OPTIONS.filter((o) => opts[o.key] !== undefined);
    if (given.length === 0) throw new Error('nothing to change: give at least one option (see easd user set --help)');
    for (const o of given) await o.check?.(opts[o.key], opts);
    const store = await openStoreFrom(opts);
    try {
      const u = await store.getUserByEmail(email);
      if (!u) throw new Error(`no user ${email}`);
      // Aliases are checked against every address first, so a taken one changes nothing.
      for (const a of (opts.alias as string[] | undefined) ?? []) {
        const owner = await store.directory.findUserIdByAddress(a);
        if (owner !== null && owner !== u.id) throw new Error(`${a} is already the address of another user`);
      }
      for (const o of given) {
        try {
          await o.apply(store, u, opts[o.key]);
        } catch (err) {
          if (isStoreError(err, 'invalid')) throw new Error(err.message);
          throw err;
        }
      }
      process.stdout.write(`updated ${u.email}\n`);
    } finally {
      await store.close();
    }
  });

  addStoreOptions(
    user.command('show <email>').description("show a user's directory details and out-of-office state").option('--json', 'as JSON'),
  ).action(async (email: string, opts: StoreCliOptions & { json?: boolean }) => {
    const store = await openStoreFrom(opts);
    try {
      const u = await store.getUserByEmail(email);
      if (!u) throw new Error(`no user ${email}`);
      const entry = await store.directory.getEntry(u.id);
      if (!entry) throw new Error(`no user ${email}`);
      const oof = await store.directory.getOof(u.id);
      const resource = await store.directory.getResource(u.id);
      const ders = (await store.directory.listCertificates(u.id)).map((c) => c.der);
      const lockout = await accountLockout(store, u.email);
      const { userId: _id, ...shown } = entry;
      process.stdout.write(
        opts.json
          ? JSON.stringify({ ...shown, resource, outOfOffice: oof, certificates: ders.map(describeCertificate), lockout }, null, 2) + '\n'
          : formatUser(entry, oof) + (resource ? `resource: ${resource}\n` : '') + formatCertificates(ders) + `lockout: ${lockoutText(lockout)}\n`,
      );
    } finally {
      await store.close();
    }
  });
}
