import type { Command } from 'commander';
import { hashPassword } from '../auth/password.ts';
import { isStoreError } from '../store/types.ts';
import { addStoreOptions, openStoreFrom, type StoreCliOptions } from './options.ts';
import { readNewPassword } from './prompt.ts';

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
    const store = await openStoreFrom(opts);
    try {
      await store.createUser({ email, passwordHash: await hashPassword(password), displayName: opts.displayName ?? null });
      process.stdout.write(`added ${email.toLowerCase()}\n`);
    } catch (err) {
      if (isStoreError(err, 'conflict')) throw new Error(`${email} exists already`);
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
