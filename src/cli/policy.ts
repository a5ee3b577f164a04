import type { Command } from 'commander';
import { DEFAULT_POLICY_SETTING, DOMAIN_POLICY_PREFIX } from '../devices/manager.ts';
import { ALL_SETTINGS, formatSetting, parseSetting, resolvePolicy } from '../devices/policy.ts';
import type { JsonObject } from '../store/types.ts';
import { isStoreError } from '../store/types.ts';
import { addStoreOptions, withStore, type StoreCliOptions } from './options.ts';

interface PolicyOptions extends StoreCliOptions {
  user?: string;
  domain?: string;
}

const out = (line: string) => process.stdout.write(line + '\n');

/** "--Name value" and "--Name=value" pairs into [name, raw value]. */
export function settingPairs(args: readonly string[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) throw new Error(`expected --Setting value, got "${a}"`);
    const eq = a.indexOf('=');
    if (eq > 0) {
      pairs.push([a.slice(2, eq), a.slice(eq + 1)]);
      continue;
    }
    const value = args[i + 1];
    if (value === undefined) throw new Error(`${a} needs a value`);
    pairs.push([a.slice(2), value]);
    i++;
  }
  return pairs;
}

export function registerPolicy(program: Command): void {
  const policy = program.command('policy').description('device policies (MS-ASPROV settings and how easd enforces them)');

  addStoreOptions(policy.command('list').description('list policies')).action(async (opts: StoreCliOptions) =>
    withStore(opts, async (store) => {
      const def = await store.devices.getSetting(DEFAULT_POLICY_SETTING);
      if (def === null) out('(built-in)\t0\tdefault: provisioning not required');
      const domains = await store.devices.listSettings(DOMAIN_POLICY_PREFIX);
      for (const p of await store.devices.listPolicies()) {
        const of = domains.filter((d) => d.value === p.name).map((d) => '@' + d.name.slice(DOMAIN_POLICY_PREFIX.length));
        out(`${p.name}\t${p.revision}\t${[p.name === def ? 'default' : '', ...of].filter(Boolean).join(' ')}`);
      }
    }),
  );

  addStoreOptions(policy.command('show <name>').description('every setting of a policy (defaults included)')).action(async (name: string, opts: StoreCliOptions) =>
    withStore(opts, async (store) => {
      const stored = await store.devices.getPolicy(name);
      if (!stored) throw new Error(`no policy ${name}`);
      const p = resolvePolicy(stored.name, stored.revision, stored.settings);
      out(`policy ${p.name}, revision ${p.revision}, changed ${stored.updatedAt.toISOString()}`);
      for (const d of ALL_SETTINGS) {
        const mark = d.name in stored.settings ? '*' : ' ';
        out(`${mark} ${d.name.padEnd(42)}${formatSetting(p.settings[d.name]!)}`);
      }
    }),
  );

  addStoreOptions(
    policy
      .command('set <name> [settings...]')
      .description('create a policy or change settings: easd policy set NAME --MinDevicePasswordLength 6 --AllowCamera 0 (list: easd policy settings)')
      .allowUnknownOption(),
  ).action(async (name: string, args: string[], opts: StoreCliOptions) => {
    const changes: JsonObject = {};
    for (const [k, raw] of settingPairs(args ?? [])) {
      const { name: key, value } = parseSetting(k, raw);
      changes[key] = value;
    }
    await withStore(opts, async (store) => {
      const before = (await store.devices.getPolicy(name))?.settings ?? {};
      const saved = await store.devices.putPolicy(name, { ...before, ...changes });
      out(`policy ${saved.name} saved (revision ${saved.revision}); devices provision again at their next request`);
    }, { create: true });
  });

  policy
    .command('settings')
    .description('the settings a policy has, with their defaults')
    .action(() => {
      for (const d of ALL_SETTINGS) out(`${d.name.padEnd(42)}${formatSetting(d.default).padEnd(8)}${d.help}`);
    });

  addStoreOptions(
    policy
      .command('assign <name>')
      .description('the policy of a user, or of every user of a mail domain ("none": back to the default)')
      .option('--user <email>', 'the user')
      .option('--domain <domain>', 'a mail domain: its users without a policy of their own'),
  ).action(async (name: string, opts: PolicyOptions) => {
    if (Boolean(opts.user) === Boolean(opts.domain)) throw new Error('name either --user or --domain');
    await withStore(opts, async (store) => {
      if (name !== 'none' && !(await store.devices.getPolicy(name))) throw new Error(`no policy ${name}`);
      const policyName = name === 'none' ? null : name;
      if (opts.domain) {
        const domain = opts.domain.trim().toLowerCase().replace(/^@/, '');
        await store.devices.putSetting(DOMAIN_POLICY_PREFIX + domain, policyName);
        out(`@${domain}: ${policyName ? `policy ${policyName}` : 'default policy'}`);
        return;
      }
      const u = await store.getUserByEmail(opts.user!);
      if (!u) throw new Error(`no user ${opts.user}`);
      await store.devices.assignPolicy(u.id, policyName);
      out(`${u.email}: ${policyName ? `policy ${policyName}` : 'default policy'}`);
    });
  });

  addStoreOptions(policy.command('default <name>').description('the policy of users without one ("none": the built-in one, provisioning not required)')).action(
    async (name: string, opts: StoreCliOptions) =>
      withStore(opts, async (store) => {
        if (name !== 'none' && !(await store.devices.getPolicy(name))) throw new Error(`no policy ${name}`);
        await store.devices.putSetting(DEFAULT_POLICY_SETTING, name === 'none' ? null : name);
        out(name === 'none' ? 'default policy: built-in' : `default policy: ${name}`);
      }),
  );

  addStoreOptions(policy.command('remove <name>').description('delete a policy (its users fall back to the default)')).action(async (name: string, opts: StoreCliOptions) =>
    withStore(opts, async (store) => {
      try {
        await store.devices.deletePolicy(name);
      } catch (err) {
        if (isStoreError(err, 'not_found')) throw new Error(`no policy ${name}`);
        throw err;
      }
      if ((await store.devices.getSetting(DEFAULT_POLICY_SETTING)) === name) await store.devices.putSetting(DEFAULT_POLICY_SETTING, null);
      for (const d of await store.devices.listSettings(DOMAIN_POLICY_PREFIX)) {
        if (d.value === name) await store.devices.putSetting(d.name, null);
      }
      out(`removed policy ${name}`);
    }),
  );
}
