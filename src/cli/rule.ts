import type { Command } from 'commander';
import { DEFAULT_ACCESS_SETTING, isRuleField, RULE_FIELDS } from '../devices/access.ts';
import { ACCESS_LEVELS, isAccessLevel } from '../devices/device-state.ts';
import { isStoreError } from '../store/types.ts';
import { addStoreOptions, withStore, type StoreCliOptions } from './options.ts';

const out = (line: string) => process.stdout.write(line + '\n');

export function registerRule(program: Command): void {
  const rule = program.command('rule').description('device access rules (Allow/Block/Quarantine)');

  addStoreOptions(rule.command('list').description('list access rules and the default access level')).action(async (opts: StoreCliOptions) =>
    withStore(opts, async (store) => {
      out(`default access: ${(await store.devices.getSetting(DEFAULT_ACCESS_SETTING)) ?? 'allow'}`);
      for (const r of await store.devices.listRules()) out(`${r.id}\t${r.field}\t${r.pattern}\t${r.access}`);
    }),
  );

  addStoreOptions(
    rule
      .command('add <field> <pattern> <access>')
      .description(`add a rule: field ${RULE_FIELDS.join('|')}, pattern with * wildcards (case-insensitive), access ${ACCESS_LEVELS.join('|')}`),
  ).action(async (field: string, pattern: string, access: string, opts: StoreCliOptions) => {
    if (!isRuleField(field)) throw new Error(`field must be one of ${RULE_FIELDS.join(', ')}`);
    if (!isAccessLevel(access)) throw new Error(`access must be one of ${ACCESS_LEVELS.join(', ')}`);
    await withStore(opts, async (store) => {
      const r = await store.devices.addRule({ field, pattern, access });
      out(`added rule ${r.id}`);
    }, { create: true });
  });

  addStoreOptions(rule.command('remove <id>').description('remove a rule')).action(async (id: string, opts: StoreCliOptions) =>
    withStore(opts, async (store) => {
      try {
        await store.devices.removeRule(id);
      } catch (err) {
        if (isStoreError(err, 'not_found')) throw new Error(`no rule ${id}`);
        throw err;
      }
      out(`removed rule ${id}`);
    }),
  );

  addStoreOptions(rule.command('default <access>').description(`the access of devices no rule matches: ${ACCESS_LEVELS.join('|')}`)).action(
    async (access: string, opts: StoreCliOptions) => {
      if (!isAccessLevel(access)) throw new Error(`access must be one of ${ACCESS_LEVELS.join(', ')}`);
      await withStore(opts, async (store) => {
        await store.devices.putSetting(DEFAULT_ACCESS_SETTING, access === 'allow' ? null : access);
        out(`default access: ${access}`);
      }, { create: true });
    },
  );
}
