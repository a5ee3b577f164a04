/**
 * A point in time as the admin tools take it: an ISO 8601 date or date-time ("2026-11-25",
 * "2026-11-25T04:00:00Z"), or a span back from now ("30m", "6h", "3d").
 */
export function parseTime(value: string, now: Date = new Date()): Date {
  const rel = /^(\d+)\s*([smhd])$/i.exec(value.trim());
  if (rel) {
    const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2]!.toLowerCase() as 's' | 'm' | 'h' | 'd'];
    return new Date(now.getTime() - Number(rel[1]) * unit);
  }
  const t = Date.parse(value.trim());
  if (!/^\d{4}-\d{2}-\d{2}/.test(value.trim()) || Number.isNaN(t)) {
    throw new Error(`not a time: "${value}" (use 2026-11-25, 2026-11-25T04:00:00Z, or 30m, 6h, 3d back from now)`);
  }
  return new Date(t);
}
