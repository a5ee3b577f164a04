/**
 * DeviceInformation (MS-ASCMD 2.2.3.45): what a device says about itself in Settings (and, from
 * 14.0, inside Provision), kept on the device partnership as device data 'deviceInformation' so
 * the device administration can show it. Pure reading here; the caller stores.
 *
 * Fields (Settings code page): Model, IMEI, FriendlyName, OS, OSLanguage, PhoneNumber,
 * UserAgent (12.1+), EnableOutboundSMS (14.0+, 0 or 1), MobileOperator (14.0+). A Set replaces the
 * stored information as a whole: a device sends everything it knows each time.
 */
import type { JsonObject } from '../store/types.ts';
import { children, text, type WbxmlElement } from '../wbxml/tree.ts';

export const DEVICE_INFORMATION = 'deviceInformation';

/** Longest value kept per field (characters); the spec sets none, this bounds the row. */
export const MAX_DEVICE_FIELD = 1024;

const FIELDS: Record<string, string> = {
  Model: 'model',
  IMEI: 'imei',
  FriendlyName: 'friendlyName',
  OS: 'os',
  OSLanguage: 'osLanguage',
  PhoneNumber: 'phoneNumber',
  UserAgent: 'userAgent',
  MobileOperator: 'mobileOperator',
};

export class DeviceInformationError extends Error {}

/** Reads a DeviceInformation Set element; throws DeviceInformationError for a bad value. */
export function readDeviceInformation(set: WbxmlElement, now: Date): JsonObject {
  const out: JsonObject = {};
  for (const c of children(set)) {
    if (c.ns !== 'Settings') continue;
    const v = (text(c) ?? '').trim();
    if (v.length > MAX_DEVICE_FIELD) throw new DeviceInformationError(`${c.name} is longer than ${MAX_DEVICE_FIELD}`);
    if (c.name === 'EnableOutboundSMS') {
      if (v !== '0' && v !== '1') throw new DeviceInformationError('EnableOutboundSMS is not 0 or 1');
      out.enableOutboundSms = v === '1';
    } else if (FIELDS[c.name]) {
      out[FIELDS[c.name]!] = v;
    }
  }
  out.updatedAt = now.toISOString();
  return out;
}
