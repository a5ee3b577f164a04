/**
 * Allow/Block/Quarantine (the ABQ list of Exchange): which access a device gets, from the admin's
 * per-device decision, the access rules and the default access level. Pure functions.
 *
 * Order: the admin's decision for the device wins; otherwise the matching rules, the most
 * restrictive first (block, then quarantine, then allow), so an allow rule for a device family
 * cannot open a model another rule blocks; otherwise the default access level (allow unless the
 * admin set another).
 */
import type { StoredAccessRule } from '../ports/devices.ts';
import type { JsonObject } from '../ports/types.ts';
import { isAccessLevel, type AccessLevel } from './device-state.ts';

export const RULE_FIELDS = ['deviceType', 'model', 'os', 'userAgent'] as const;
export type RuleField = (typeof RULE_FIELDS)[number];

export function isRuleField(v: string): v is RuleField {
  return (RULE_FIELDS as readonly string[]).includes(v);
}

/** The setting (ServerStore.devices.getSetting) holding the default access level. */
export const DEFAULT_ACCESS_SETTING = 'defaultAccess';

export interface DeviceFacts {
  deviceType: string;
  userAgent: string | null;
  /** From DeviceInformation (device data DEVICE_INFORMATION, src/devices/device-information.ts). */
  model: string | null;
  os: string | null;
}

export function factsOf(device: { deviceType: string; userAgent: string | null }, info: JsonObject | null): DeviceFacts {
  const s = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
  return { deviceType: device.deviceType, userAgent: device.userAgent, model: s(info?.Model), os: s(info?.OS) };
}

/** Case-insensitive match of a whole value against a pattern where "*" stands for any text. */
export function patternMatches(pattern: string, value: string | null): boolean {
  if (value === null) return false;
  const re = new RegExp('^' + pattern.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$', 'is');
  return re.test(value);
}

const RANK: Record<AccessLevel, number> = { block: 0, quarantine: 1, allow: 2 };

export interface AccessDecision {
  level: AccessLevel;
  reason: string;
}

export function decideAccess(
  facts: DeviceFacts,
  override: AccessLevel | null,
  rules: readonly StoredAccessRule[],
  defaultLevel: AccessLevel,
): AccessDecision {
  if (override) return { level: override, reason: `set by the administrator` };
  let best: StoredAccessRule | undefined;
  for (const r of rules) {
    if (!isRuleField(r.field) || !isAccessLevel(r.access)) continue;
    if (!patternMatches(r.pattern, facts[r.field])) continue;
    if (!best || RANK[r.access] < RANK[best.access as AccessLevel]) best = r;
  }
  if (best) return { level: best.access as AccessLevel, reason: `rule ${best.id}: ${best.field} matches "${best.pattern}"` };
  return { level: defaultLevel, reason: 'default access level' };
}
