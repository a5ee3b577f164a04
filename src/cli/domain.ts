import { Option, type Command } from 'commander';
import { homeEndpoint } from '../http/redirect.ts';
import { addStoreOptions, openStoreFrom, type StoreCliOptions } from './options.ts';

/**
 * `easd domain set DOMAIN --home-url URL`: every user of a mail domain is served by another easd
 * deployment (redirected with HTTP 451, src/http/redirect.ts); a user's own --home-url wins.
 * `easd domain list` shows the homes set, per domain and per user.
 */
export function registerDomain(program: Command): void {
  const domain = program.command('domain').description('mail domains served by another deployment (redirects)');

  addStoreOptions(
    domain
      .command('set <domain>')
      .description("redirect the domain's users to another easd deployment")
      .addOption(new Option('--home-url <url>', 'the URL of the deployment serving the domain ("" clears it)').makeOptionMandatory()),
  ).action(async (name: string, opts: StoreCliOptions & { homeUrl: string }) => {
    if (!/^[^\s@/]+\.[^\s@/]+$|^localhost$/i.test(name)) throw new Error(`not a mail domain: "${name}"`);
    const url = opts.homeUrl === '' ? null : homeEndpoint(opts.homeUrl);
    const store = await openStoreFrom(opts, { create: true });
    try {
      await store.homes.setDomainHome(name, url);
      process.stdout.write(url ? `${name.toLowerCase()} is served at ${url}\n` : `${name.toLowerCase()} is served here\n`);
    } finally {
      await store.close();
    }
  });

  addStoreOptions(domain.command('list').description('list the domains and users served by another deployment')).action(async (opts: StoreCliOptions) => {
    const store = await openStoreFrom(opts);
    try {
      const homes = await store.homes.listHomes();
      for (const d of homes.domains) process.stdout.write(`domain\t${d.domain}\t${d.url}\n`);
      for (const u of homes.users) process.stdout.write(`user\t${u.email}\t${u.url}\n`);
    } finally {
      await store.close();
    }
  });
}
