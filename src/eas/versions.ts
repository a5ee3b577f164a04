/**
 * Protocol versions easd speaks (MS-ASHTTP 2.2.2.1.2.4 MS-ASProtocolVersions). 2.5 is not offered:
 * every client of the last decade speaks 12.x or later, and 2.5 lacks AirSyncBase bodies.
 */
export const SUPPORTED_VERSIONS = ['12.0', '12.1', '14.0', '14.1', '16.0', '16.1'] as const;
export type EasVersion = (typeof SUPPORTED_VERSIONS)[number];

export function isSupportedVersion(v: string | undefined): v is EasVersion {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(v ?? '');
}

/** Numeric form for comparisons: "14.1" -> 141 (the same number the base64 query form carries). */
export function versionNumber(v: string): number {
  const [major, minor] = v.split('.');
  return Number(major) * 10 + Number(minor ?? 0);
}

/** The base64 query form's version byte (MS-ASHTTP 2.2.1.1.1.1), e.g. 141 -> "14.1". */
export function versionFromByte(b: number): string {
  return `${Math.floor(b / 10)}.${b % 10}`;
}
