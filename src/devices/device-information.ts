/**
 * DeviceInformation (MS-ASCMD 2.2.3.52, Settings code page): what a device says about itself, in
 * Provision (14.1+, MS-ASPROV 2.2.2.52) or Settings. Stored as device data under
 * DEVICE_INFORMATION with the element names as keys ({ Model, IMEI, FriendlyName, OS, OSLanguage,
 * PhoneNumber, UserAgent, EnableOutboundSMS, MobileOperator }), so every writer stores the same
 * shape and access rules read Model and OS from it.
 */
import type { JsonObject } from '../ports/types.ts';
import { child, children, text, type WbxmlElement } from '../wbxml/tree.ts';

export const DEVICE_INFORMATION = 'deviceInformation';
export const SETTINGS_NS = 'Settings';

export const DEVICE_INFORMATION_FIELDS = [
  'Model',
  'IMEI',
  'FriendlyName',
  'OS',
  'OSLanguage',
  'PhoneNumber',
  'UserAgent',
  'EnableOutboundSMS',
  'MobileOperator',
] as const;

/** Longest value kept per field: device-supplied text is bounded. */
const MAX_FIELD = 1024;

/** The Set element of a DeviceInformation element, as a JSON object of its known fields. */
export function parseDeviceInformation(info: WbxmlElement): JsonObject {
  const set = child(info, 'Set', SETTINGS_NS) ?? info;
  const out: JsonObject = {};
  for (const c of children(set)) {
    if (c.ns !== SETTINGS_NS || !(DEVICE_INFORMATION_FIELDS as readonly string[]).includes(c.name)) continue;
    out[c.name] = (text(c) ?? '').slice(0, MAX_FIELD);
  }
  return out;
}
