/**
 * TIME_ZONE_INFORMATION blobs as devices send them, written out by hand from MS-ASDTYPE 2.7.6
 * (not built with src/calendar/timezone.ts, so they check it rather than agree with it).
 */

/**
 * W. Europe Standard Time: UTC+1, daylight time UTC+2 from the last Sunday of March 02:00 to the
 * last Sunday of October 03:00.
 */
export function berlinBlob(): string {
  const b = Buffer.alloc(172);
  b.writeInt32LE(-60, 0);
  b.write('W. Europe Standard Time', 4, 'utf16le');
  [0, 10, 0, 5, 3, 0, 0, 0].forEach((v, i) => b.writeUInt16LE(v, 68 + 2 * i));
  b.write('W. Europe Daylight Time', 88, 'utf16le');
  [0, 3, 0, 5, 2, 0, 0, 0].forEach((v, i) => b.writeUInt16LE(v, 152 + 2 * i));
  b.writeInt32LE(-60, 168);
  return b.toString('base64');
}
