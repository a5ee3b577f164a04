/**
 * Device policies: the EAS policy settings of MS-ASPROV 2.2.2.28 (EASProvisionDoc) as typed
 * data with defaults, plus the server-side settings that decide how easd enforces them.
 *
 * A policy is stored as a JSON object of setting name -> value (ServerStore.devices.putPolicy); a
 * missing setting takes its default here, so a policy only stores what the admin changed.
 * Setting names are the EAS element names (DevicePasswordEnabled, ...) and, for server-side
 * settings, names of the same style (RequireProvisioning, ...).
 *
 * Wire form: protocol versions 12.0 to 16.1 all use PolicyType MS-EAS-Provisioning-WBXML and the
 * EASProvisionDoc of code page 14 (MS-ASPROV 2.2.2.43: "MS-WAP-Provisioning-XML is used with
 * protocol version 2.5"), so easd never sends the WAP provisioning XML. 12.0 gets only the
 * elements that version has (MS-ASWBXML code page 14: the rest are 12.1+).
 */
import { versionNumber, type EasVersion } from '../eas/versions.ts';
import type { JsonObject, JsonValue } from '../ports/types.ts';
import { el, type WbxmlElement } from '../wbxml/tree.ts';

export const NS = 'Provision';
export const POLICY_TYPE_WBXML = 'MS-EAS-Provisioning-WBXML';

type Kind =
  /** 0/1 on the wire, boolean in the store. */
  | 'bool'
  /** An unsigned number, or null for "no limit" (sent as an empty element). */
  | 'number'
  /** A list of strings (application names or hashes), sent as child elements. */
  | 'list'
  /** One of a fixed set of strings (server-side settings only). */
  | 'choice';

export interface SettingDef {
  name: string;
  kind: Kind;
  default: boolean | number | null | string | string[];
  /** First protocol version with the element (EAS settings only). */
  since?: EasVersion;
  /** Inclusive bounds of a number. */
  min?: number;
  max?: number;
  /** Choices of a 'choice' setting. */
  choices?: readonly string[];
  /** Child element of a list (ApplicationName, Hash). */
  item?: string;
  help: string;
}

const b = (name: string, def: boolean, since: EasVersion, help: string): SettingDef => ({ name, kind: 'bool', default: def, since, help });
const n = (name: string, def: number | null, since: EasVersion, min: number, max: number, help: string): SettingDef => ({
  name,
  kind: 'number',
  default: def,
  since,
  min,
  max,
  help,
});

/**
 * The EAS settings in the order of the EASProvisionDoc schema (MS-ASPROV 2.2.2.28, and the
 * example of MS-ASPROV 4.1.2), each with the default of a policy that asks nothing of the device.
 */
export const EAS_SETTINGS: readonly SettingDef[] = [
  b('DevicePasswordEnabled', false, '12.0', 'require a device password (2.2.2.19)'),
  b('AlphanumericDevicePasswordRequired', false, '12.0', 'password must contain letters and digits (2.2.2.3)'),
  b('PasswordRecoveryEnabled', false, '12.0', 'device may store a recovery password on the server (2.2.2.44)'),
  b('RequireStorageCardEncryption', false, '12.1', 'encrypt storage cards (2.2.2.52)'),
  b('AttachmentsEnabled', true, '12.0', 'attachments may be downloaded (2.2.2.22)'),
  n('MinDevicePasswordLength', null, '12.0', 1, 16, 'shortest password; empty = no minimum (2.2.2.40)'),
  n('MaxInactivityTimeDeviceLock', null, '12.0', 0, 9999, 'seconds without input before the device locks; empty or 9999 = never (2.2.2.37)'),
  n('MaxDevicePasswordFailedAttempts', null, '12.0', 4, 16, 'failed unlocks before the device wipes itself; empty = never (2.2.2.33)'),
  n('MaxAttachmentSize', null, '12.0', 0, 2 ** 31 - 1, 'largest attachment in bytes; empty = no limit (2.2.2.31)'),
  b('AllowSimpleDevicePassword', true, '12.0', 'allow simple passwords such as 1234 (2.2.2.16)'),
  n('DevicePasswordExpiration', null, '12.0', 0, 9999, 'days until a password expires; empty or 0 = never (2.2.2.18)'),
  n('DevicePasswordHistory', 0, '12.0', 0, 50, 'earlier passwords that may not be reused (2.2.2.20)'),
  b('AllowStorageCard', true, '12.1', 'allow storage cards (2.2.2.17)'),
  b('AllowCamera', true, '12.1', 'allow the camera (2.2.2.9)'),
  b('RequireDeviceEncryption', false, '12.1', 'encrypt the device (2.2.2.48)'),
  b('AllowUnsignedApplications', true, '12.1', 'allow unsigned applications (2.2.2.21)'),
  b('AllowUnsignedInstallationPackages', true, '12.1', 'allow unsigned installation packages (2.2.2.22)'),
  n('MinDevicePasswordComplexCharacters', 1, '12.1', 1, 4, 'character groups a password must contain (2.2.2.39)'),
  b('AllowWiFi', true, '12.1', 'allow Wi-Fi (2.2.2.23)'),
  b('AllowTextMessaging', true, '12.1', 'allow SMS text messaging (2.2.2.20)'),
  b('AllowPOPIMAPEmail', true, '12.1', 'allow POP or IMAP mail accounts (2.2.2.14)'),
  n('AllowBluetooth', 2, '12.1', 0, 2, '0 no Bluetooth, 1 hands-free only, 2 allow (2.2.2.5)'),
  b('AllowIrDA', true, '12.1', 'allow infrared connections (2.2.2.11)'),
  b('RequireManualSyncWhenRoaming', false, '12.1', 'sync manually while roaming (2.2.2.49)'),
  b('AllowDesktopSync', true, '12.1', 'allow desktop synchronization (2.2.2.8)'),
  n('MaxCalendarAgeFilter', 0, '12.1', 0, 7, 'oldest calendar items: 0 all, 4 two weeks, 5 a month, 6 three months, 7 six months (2.2.2.30)'),
  b('AllowHTMLEmail', true, '12.1', 'allow HTML mail (2.2.2.10)'),
  n('MaxEmailAgeFilter', 0, '12.1', 0, 5, 'oldest mail: 0 all, 1 a day, 2 three days, 3 a week, 4 two weeks, 5 a month (2.2.2.34)'),
  n('MaxEmailBodyTruncationSize', -1, '12.1', -1, 2 ** 31 - 1, 'plain text body size in KB; -1 no truncation, 0 headers only (2.2.2.35)'),
  n('MaxEmailHTMLBodyTruncationSize', -1, '12.1', -1, 2 ** 31 - 1, 'HTML body size in KB; -1 no truncation, 0 headers only (2.2.2.36)'),
  b('RequireSignedSMIMEMessages', false, '12.1', 'send signed S/MIME messages (2.2.2.51)'),
  b('RequireEncryptedSMIMEMessages', false, '12.1', 'send encrypted S/MIME messages (2.2.2.47)'),
  n('RequireSignedSMIMEAlgorithm', 0, '12.1', 0, 1, 'signing algorithm: 0 SHA1, 1 MD5 (2.2.2.50)'),
  n('RequireEncryptionSMIMEAlgorithm', 0, '12.1', 0, 4, 'encryption algorithm: 0 TripleDES, 1 DES, 2 RC2 128, 3 RC2 64, 4 RC2 40 (2.2.2.46)'),
  n('AllowSMIMEEncryptionAlgorithmNegotiation', 2, '12.1', 0, 2, '0 no negotiation, 1 strong algorithms only, 2 any (2.2.2.12)'),
  b('AllowSMIMESoftCerts', true, '12.1', 'allow soft certificates (2.2.2.13)'),
  b('AllowBrowser', true, '12.1', 'allow the browser (2.2.2.6)'),
  b('AllowConsumerEmail', true, '12.1', 'allow personal mail accounts (2.2.2.7)'),
  b('AllowRemoteDesktop', true, '12.1', 'allow remote desktop (2.2.2.15)'),
  b('AllowInternetSharing', true, '12.1', 'allow Internet sharing (tethering) (2.2.2.10)'),
  {
    name: 'UnapprovedInROMApplicationList',
    kind: 'list',
    default: [],
    since: '12.1',
    item: 'ApplicationName',
    help: 'in-ROM applications that may not run, comma separated (2.2.2.55)',
  },
  {
    name: 'ApprovedApplicationList',
    kind: 'list',
    default: [],
    since: '12.1',
    item: 'Hash',
    help: 'SHA-1 hashes of the applications that may run, comma separated (2.2.2.4)',
  },
];

export const IGNORED_REFRESH_ACTIONS = ['allow', 'block'] as const;
export type IgnoredRefreshAction = (typeof IGNORED_REFRESH_ACTIONS)[number];

/** How easd enforces a policy; never sent to the device. */
export const SERVER_SETTINGS: readonly SettingDef[] = [
  {
    name: 'RequireProvisioning',
    kind: 'bool',
    default: true,
    help: 'devices must provision (and keep a current policy key) before other commands',
  },
  {
    name: 'AllowNonProvisionableDevices',
    kind: 'bool',
    default: false,
    help: 'let devices sync that cannot apply the whole policy, are externally managed, or never provision (send no policy key)',
  },
  {
    name: 'PolicyRefreshInterval',
    kind: 'number',
    default: null,
    min: 0,
    max: 2 ** 31 - 1,
    help: 'seconds after which a device must fetch the policy again (143); empty or 0 = never (kb-2.12)',
  },
  {
    name: 'IgnoredRefreshLimit',
    kind: 'number',
    default: 5,
    min: 1,
    max: 1_000_000,
    help: 'refresh answers (143) a device may ignore before it is flagged',
  },
  {
    name: 'IgnoredRefreshAction',
    kind: 'choice',
    default: 'allow',
    choices: IGNORED_REFRESH_ACTIONS,
    help: 'what happens to a flagged device: allow (keeps syncing, flagged) or block',
  },
];

export const ALL_SETTINGS: readonly SettingDef[] = [...EAS_SETTINGS, ...SERVER_SETTINGS];
const BY_NAME = new Map(ALL_SETTINGS.map((d) => [d.name.toLowerCase(), d]));

export function settingDef(name: string): SettingDef | undefined {
  return BY_NAME.get(name.toLowerCase());
}

export type PolicyValue = boolean | number | null | string | string[];

/** A policy with every setting present (defaults filled in). */
export interface Policy {
  /** Policy name; BUILTIN_POLICY_NAME when no policy is configured. */
  name: string;
  /** Store revision (0 for the built-in policy): a change makes devices provision again. */
  revision: number;
  settings: Record<string, PolicyValue>;
}

export const BUILTIN_POLICY_NAME = '(built-in)';

/**
 * The policy of a user without an assigned policy when no default is set: nothing asked of the
 * device (all-permissive settings), but provisioning required, as Exchange, Z-Push and grommunio
 * do by default: every device gets a policy key and can be remote-wiped (MS-ASPROV 3.1.5.1). A
 * device that never provisions gets 142 (HTTP 449 before 14.0) until it does.
 */
export const BUILTIN_POLICY: Policy = resolvePolicy(BUILTIN_POLICY_NAME, 0, {});

/**
 * The built-in policy when the administrator turned provisioning off (`easd serve
 * --no-provisioning`): devices sync without a policy key, and cannot be remote-wiped until they
 * provision. Logged as a warning at start.
 */
export const BUILTIN_POLICY_WITHOUT_PROVISIONING: Policy = resolvePolicy(BUILTIN_POLICY_NAME, 0, { RequireProvisioning: false });

export class PolicyError extends Error {
  override readonly name = 'PolicyError';
}

/** A policy's stored settings with defaults filled in; unknown or malformed stored values fall back to the default. */
export function resolvePolicy(name: string, revision: number, stored: JsonObject): Policy {
  const settings: Record<string, PolicyValue> = {};
  for (const def of ALL_SETTINGS) {
    const v = stored[def.name];
    settings[def.name] = v !== undefined && validStored(def, v) ? (v as PolicyValue) : def.default;
  }
  return { name, revision, settings };
}

function validStored(def: SettingDef, v: JsonValue): boolean {
  switch (def.kind) {
    case 'bool':
      return typeof v === 'boolean';
    case 'number':
      return v === null || (typeof v === 'number' && Number.isInteger(v) && v >= (def.min ?? 0) && v <= (def.max ?? Infinity));
    case 'list':
      return Array.isArray(v) && v.every((x) => typeof x === 'string');
    case 'choice':
      return typeof v === 'string' && (def.choices ?? []).includes(v);
  }
}

/**
 * Parses an admin's value for a setting (`easd policy set NAME --MinDevicePasswordLength 6`):
 * booleans as 1/0/true/false/yes/no, numbers in the setting's bounds, "" or "none" for no limit,
 * lists comma separated. Returns the canonical setting name and the value to store.
 */
export function parseSetting(name: string, raw: string): { name: string; value: PolicyValue } {
  const def = settingDef(name);
  if (!def) throw new PolicyError(`unknown policy setting "${name}"`);
  const s = raw.trim();
  switch (def.kind) {
    case 'bool': {
      const v = s.toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return { name: def.name, value: true };
      if (['0', 'false', 'no', 'off'].includes(v)) return { name: def.name, value: false };
      throw new PolicyError(`${def.name} wants 1 or 0, got "${raw}"`);
    }
    case 'number': {
      if (s === '' || s.toLowerCase() === 'none' || s.toLowerCase() === 'unlimited') {
        if (def.default !== null && def.name !== 'PolicyRefreshInterval') {
          throw new PolicyError(`${def.name} needs a number`);
        }
        return { name: def.name, value: null };
      }
      const v = Number(s);
      if (!/^-?\d+$/.test(s) || v < (def.min ?? 0) || v > (def.max ?? Infinity)) {
        throw new PolicyError(`${def.name} wants a whole number from ${def.min} to ${def.max}, got "${raw}"`);
      }
      return { name: def.name, value: v };
    }
    case 'list':
      return {
        name: def.name,
        value: s === '' ? [] : s.split(',').map((x) => x.trim()).filter((x) => x !== ''),
      };
    case 'choice':
      if (!(def.choices ?? []).includes(s.toLowerCase())) throw new PolicyError(`${def.name} wants one of ${def.choices?.join(', ')}`);
      return { name: def.name, value: s.toLowerCase() };
  }
}

/** A setting's value as the admin tools show it. */
export function formatSetting(v: PolicyValue): string {
  if (v === null) return '';
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (Array.isArray(v)) return v.join(',');
  return String(v);
}

/**
 * The EASProvisionDoc for a protocol version (MS-ASPROV 2.2.2.28): every EAS setting the version
 * has, in schema order; a number without a limit is an empty element, as in MS-ASPROV 4.1.2.
 */
export function provisionDoc(policy: Policy, version: EasVersion): WbxmlElement {
  const v = versionNumber(version);
  const out: WbxmlElement[] = [];
  for (const def of EAS_SETTINGS) {
    if (def.since && versionNumber(def.since) > v) continue;
    const value = policy.settings[def.name] ?? def.default;
    if (def.kind === 'list') {
      const items = Array.isArray(value) ? value : [];
      out.push(el(NS, def.name, items.map((x) => el(NS, def.item!, x))));
    } else if (def.kind === 'bool') {
      out.push(el(NS, def.name, value ? '1' : '0'));
    } else {
      out.push(value === null || value === undefined ? el(NS, def.name) : el(NS, def.name, String(value)));
    }
  }
  return el(NS, 'EASProvisionDoc', out);
}

/** Whether a policy refresh is due: the interval is set (not 0 or empty) and has passed. */
export function refreshDue(policy: Policy, provisionedAt: Date | null, now: Date): boolean {
  const interval = policy.settings.PolicyRefreshInterval;
  if (typeof interval !== 'number' || interval <= 0 || !provisionedAt) return false;
  return now.getTime() - provisionedAt.getTime() >= interval * 1000;
}

/** The settings of a policy that differ from their defaults (what the admin view lists). */
export function changedSettings(policy: Policy): Array<[string, PolicyValue]> {
  return ALL_SETTINGS.filter((d) => JSON.stringify(policy.settings[d.name]) !== JSON.stringify(d.default)).map((d) => [
    d.name,
    policy.settings[d.name]!,
  ]);
}
