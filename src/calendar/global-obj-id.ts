/**
 * GlobalObjId (MS-ASEMAIL 2.2.2.37; MS-OXOCAL PidLidGlobalObjectId) <-> iCalendar UID, as Outlook
 * and Exchange convert them (MS-ASEMAIL 3.1.4.7, MS-OXCICAL 2.1.3.1.1.20.26). Pure; for the
 * MeetingRequest of invitation mail and for matching meeting responses to calendar items.
 *
 * Layout: class id (16 bytes) | instance date (year high, year low, month, day; zeros for the
 * series) | creation time (FILETIME, 8) | reserved (8) | data size (UInt32 LE) | data. The data
 * of a UID that is not itself a hex GlobalObjId is "vCal-Uid" 01 00 00 00 UID 00.
 */

const CLASS_ID = Buffer.from('040000008200E00074C5B7101A82E008', 'hex');
const VCAL = Buffer.from('vCal-Uid', 'latin1');
const HEADER = 40;

/** The date of one occurrence, for the GlobalObjId of an exception (local date of the occurrence). */
export interface InstanceDate {
  year: number;
  month: number;
  day: number;
}

function isEncodedGlobalId(uid: string): boolean {
  return uid.length >= HEADER * 2 && uid.length % 2 === 0 && /^[0-9A-Fa-f]+$/.test(uid) && uid.slice(0, 32).toUpperCase() === CLASS_ID.toString('hex').toUpperCase();
}

/**
 * The GlobalObjId (base64) of a UID: the UID's own bytes when it is a hex-encoded GlobalObjId
 * (what Outlook writes), else the vCal-Uid wrapping with a zero creation time (so one UID always
 * gives one GlobalObjId). `instance` names one occurrence.
 */
export function globalObjIdFromUid(uid: string, instance?: InstanceDate): string {
  let bytes: Buffer;
  if (isEncodedGlobalId(uid)) {
    bytes = Buffer.from(uid, 'hex');
  } else {
    const data = Buffer.concat([VCAL, Buffer.from([1, 0, 0, 0]), Buffer.from(uid, 'utf8'), Buffer.from([0])]);
    bytes = Buffer.alloc(HEADER + data.length);
    CLASS_ID.copy(bytes, 0);
    bytes.writeUInt32LE(data.length, 36);
    data.copy(bytes, HEADER);
  }
  if (instance) {
    bytes.writeUInt16BE(instance.year, 16);
    bytes.writeUInt8(instance.month, 18);
    bytes.writeUInt8(instance.day, 19);
  } else {
    bytes.fill(0, 16, 20);
  }
  return bytes.toString('base64');
}

/**
 * The UID of a GlobalObjId (MS-ASEMAIL 3.1.4.7): the vCal UID it wraps, else the whole value in
 * upper-case hex with the instance date zeroed. Undefined when it is not a GlobalObjId.
 */
export function uidFromGlobalObjId(base64: string): string | undefined {
  const bytes = Buffer.from(base64.trim(), 'base64');
  if (bytes.length < HEADER || !bytes.subarray(0, 16).equals(CLASS_ID)) return undefined;
  const size = bytes.readUInt32LE(36);
  const data = bytes.subarray(HEADER, HEADER + size);
  if (data.length >= VCAL.length + 4 && data.subarray(0, VCAL.length).equals(VCAL)) {
    let end = data.length;
    while (end > VCAL.length + 4 && data[end - 1] === 0) end--;
    return data.subarray(VCAL.length + 4, end).toString('utf8');
  }
  const clean = Buffer.from(bytes);
  clean.fill(0, 16, 20);
  return clean.toString('hex').toUpperCase();
}

/** The instance date a GlobalObjId carries (undefined for the series). */
export function instanceDateOf(base64: string): InstanceDate | undefined {
  const bytes = Buffer.from(base64.trim(), 'base64');
  if (bytes.length < HEADER) return undefined;
  const year = bytes.readUInt16BE(16);
  if (year === 0) return undefined;
  return { year, month: bytes[18]!, day: bytes[19]! };
}
