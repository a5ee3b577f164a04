/**
 * On/off values of the `easd` switches (README "Configuration"): 1/0, true/false, yes/no, on/off,
 * in any case. Anything else is refused with the variable or flag named, never taken as "on".
 *
 * Commander sets a switch that has an environment variable whenever the variable is present,
 * whatever its value (and `--no-x` with EASD_NO_X=false would turn x off). `switchesFromEnv`
 * reads those variables again through `parseBoolean`: every command with such a switch runs it
 * before its action (`withSwitchesFromEnv`).
 */
import type { Command, Option } from 'commander';

export const BOOLEAN_VALUES = '1/0, true/false, yes/no, on/off';

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

/** true or false for an on/off word, undefined for anything else. */
export function booleanWord(value: string): boolean | undefined {
  const t = value.trim().toLowerCase();
  return TRUE.has(t) ? true : FALSE.has(t) ? false : undefined;
}

/** An on/off value of `what` (an environment variable or a flag); anything else is an error naming it. */
export function parseBoolean(value: string, what: string): boolean {
  const b = booleanWord(value);
  if (b === undefined) throw new Error(`${what} must be one of ${BOOLEAN_VALUES} (any case), not "${value}"`);
  return b;
}

/** A switch: an option without a value. */
function isSwitch(o: Option): boolean {
  return !o.required && !o.optional;
}

/**
 * Sets every switch of `cmd` that has an environment variable from that variable's on/off value
 * (`--no-x`: EASD_NO_X=true turns x off, EASD_NO_X=false leaves it on). A flag on the command
 * line wins over the variable, but an invalid variable is an error either way. An empty variable
 * counts as unset.
 */
export function switchesFromEnv(cmd: Command): void {
  for (const o of cmd.options) {
    if (!o.envVar || !isSwitch(o)) continue;
    const raw = process.env[o.envVar];
    if (raw === undefined) continue;
    const key = o.attributeName();
    const source = cmd.getOptionValueSource(key);
    if (raw.trim() === '') {
      // Commander took the empty variable as "set": back to the default.
      if (source === 'env') cmd.setOptionValueWithSource(key, o.negate ? (o.defaultValue ?? true) : o.defaultValue, 'default');
      continue;
    }
    const on = parseBoolean(raw, o.envVar);
    if (source === 'cli') continue;
    cmd.setOptionValueWithSource(key, o.negate ? !on : on, 'env');
  }
}

/** Runs `switchesFromEnv` on `cmd` before its action. */
export function withSwitchesFromEnv(cmd: Command): Command {
  return cmd.hook('preAction', (_hooked, action) => switchesFromEnv(action));
}
