/**
 * TIME_ZONE_INFORMATION (MS-ASDTYPE 2.7.6) -> IANA zone: which zone a device's blob means, by its
 * names and, failing that, by its rules.
 */
import { decodeTimezone, encodeTimezone, hasDaylight, tziOffsets, type TimeZoneInformation } from './time-zone-information.ts';
import { windowsZoneIndex } from './windows-zone-names.ts';
import { canonicalZone, ianaOffsets, transitionsInYear, UTC_OFFSETS, zoneOffset, type OffsetFn, type Transition } from './zone-offsets.ts';

/** Same transitions in the year (instant and offsets); `ta` are the first zone's. */
function sameTransitions(ta: Transition[], b: OffsetFn, year: number): boolean {
  const tb = transitionsInYear(b, year);
  if (ta.length !== tb.length) return false;
  return ta.every((t, i) => t.at === tb[i]!.at && t.from === tb[i]!.from && t.to === tb[i]!.to);
}

const zoneCache = new Map<string, string | undefined>();
let allZones: string[] | undefined;

/**
 * The IANA zone a device's TIME_ZONE_INFORMATION means, for events in `year`:
 * 1. StandardName is a Windows zone id (what Windows, Outlook and most phones send) or an IANA
 *    id, and that zone has the blob's offsets in January and July of the year: that zone.
 * 2. Otherwise (a localised or empty name, an outdated rule), the first zone whose offsets and
 *    transition instants that year equal the blob's: CLDR's "001" zones first (in table order),
 *    then every zone the runtime knows. Etc/UTC for a blob without bias or daylight saving.
 * Undefined when nothing matches (callers then use the blob's own rules, tziOffsets).
 */
export function zoneForTzi(tzi: TimeZoneInformation, year: number): string | undefined {
  const key = `${encodeTimezone(tzi)}|${year}`;
  if (zoneCache.has(key)) return zoneCache.get(key);
  const found = findZone(tzi, year);
  if (zoneCache.size > 10_000) zoneCache.clear();
  zoneCache.set(key, found);
  return found;
}

function findZone(tzi: TimeZoneInformation, year: number): string | undefined {
  const blob = tziOffsets(tzi);
  const probes = [Date.UTC(year, 0, 15), Date.UTC(year, 6, 15)];
  const probeMatch = (zone: string) => probes.every((p) => zoneOffset(zone, p) === blob(p));
  for (const name of [tzi.standardName, tzi.daylightName]) {
    if (!name) continue;
    const byWindows = windowsZoneIndex().byWindows.get(name.toLowerCase());
    const candidates = byWindows ? [byWindows.primary, ...byWindows.all] : canonicalZone(name) && name.includes('/') ? [name] : [];
    const hit = candidates.find(probeMatch);
    if (hit) return hit;
  }
  const blobTransitions = transitionsInYear(blob, year);
  allZones ??= Intl.supportedValuesOf('timeZone');
  const fits = (zone: string) => probeMatch(zone) && sameTransitions(blobTransitions, ianaOffsets(zone), year);
  // Outlook writes its display name ("(UTC+01:00) Amsterdam, Berlin, B", cut at 31 characters):
  // a city it names that is an IANA zone's city, with the same rules, is the zone meant.
  for (const city of cityHints(tzi)) {
    const hit = allZones.find((z) => z.slice(z.lastIndexOf('/') + 1).replace(/_/g, ' ').toLowerCase() === city);
    if (hit && fits(hit)) return hit;
  }
  if (!hasDaylight(tzi) && tzi.bias + tzi.standardBias === 0) return 'Etc/UTC';
  const seen = new Set<string>();
  for (const zone of [...windowsZoneIndex().primaries, ...allZones]) {
    if (seen.has(zone)) continue;
    seen.add(zone);
    if (fits(zone)) return zone;
  }
  return undefined;
}

/** Lower-case city names in "(UTC+01:00) Amsterdam, Berlin, Bern" style names. */
function cityHints(tzi: TimeZoneInformation): string[] {
  const out: string[] = [];
  for (const name of [tzi.standardName, tzi.daylightName]) {
    const m = /^\(UTC[^)]*\)\s*(.*)$/.exec(name);
    if (!m) continue;
    for (const part of m[1]!.split(',')) {
      const city = part.trim().toLowerCase();
      if (city.length > 2) out.push(city);
    }
  }
  return out;
}

/** zoneForTzi for a base64 blob; undefined for a malformed blob or no match. */
export function zoneForTimezoneBlob(base64: string, year: number): string | undefined {
  const tzi = decodeTimezone(base64);
  return tzi ? zoneForTzi(tzi, year) : undefined;
}

/** The offsets of a stored blob: its IANA zone's when one matches, else the blob's own rules. */
export function offsetsForTimezoneBlob(base64: string | undefined, year: number): OffsetFn {
  if (!base64) return UTC_OFFSETS;
  const tzi = decodeTimezone(base64);
  if (!tzi) return UTC_OFFSETS;
  const zone = zoneForTzi(tzi, year);
  return zone ? ianaOffsets(zone) : tziOffsets(tzi);
}
