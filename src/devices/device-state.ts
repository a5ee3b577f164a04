/**
 * What easd remembers of one device partnership beyond its Device row: its policy keys and
 * provisioning outcome, its access state, and a remote wipe. Kept as JSON by
 * ServerStore.devices.putDeviceState; this module owns the shape.
 */
import type { JsonObject } from '../ports/types.ts';

export const ACCESS_LEVELS = ['allow', 'block', 'quarantine'] as const;
export type AccessLevel = (typeof ACCESS_LEVELS)[number];

export function isAccessLevel(v: unknown): v is AccessLevel {
  return typeof v === 'string' && (ACCESS_LEVELS as readonly string[]).includes(v);
}

export type WipeKind = 'full' | 'account';

export interface WipeState {
  kind: WipeKind;
  requestedAt: string;
  /** When a Provision response carried the directive (the last time it did). */
  sentAt: string | null;
  /** When the device acknowledged, and the Status it reported (1 success, 2 failure). */
  acknowledgedAt: string | null;
  ackStatus: number | null;
}

export interface DeviceState {
  /** The final policy key (MS-ASPROV 3.1.5.1.2), or null before the device acknowledged one. */
  policyKey: string | null;
  /** The temporary key of the last initial Provision, valid only for its acknowledgement. */
  pendingKey: string | null;
  /** Name and revision of the policy the keys belong to. */
  policyName: string | null;
  policyRevision: number | null;
  /** When the device last got a final key. */
  provisionedAt: string | null;
  /** When the device last sent Provision. */
  lastProvisionAt: string | null;
  /** The Status the device acknowledged the policy with (MS-ASPROV 2.2.2.54.1; 1 applied). */
  ackStatus: number | null;
  /** Why the device does not fully comply (kb-2.1), shown to the admin. */
  complianceReason: string | null;
  /** Set when the device could not comply and the policy does not allow it: 139 or 145. */
  refusedStatus: number | null;
  /** Refresh answers (143) since the last provisioning (kb-2.12). */
  refreshRequests: number;
  /** When the device was flagged for ignoring refresh answers. */
  ignoresRefreshSince: string | null;
  /** The admin's decision for this device; wins over access rules. */
  accessOverride: AccessLevel | null;
  /** The access level last computed (override, rule or default) and why. */
  accessState: AccessLevel | null;
  accessReason: string | null;
  /** When the user and admin were told of a quarantine (once per quarantine). */
  quarantineNotifiedAt: string | null;
  wipe: WipeState | null;
}

export const EMPTY_STATE: DeviceState = {
  policyKey: null,
  pendingKey: null,
  policyName: null,
  policyRevision: null,
  provisionedAt: null,
  lastProvisionAt: null,
  ackStatus: null,
  complianceReason: null,
  refusedStatus: null,
  refreshRequests: 0,
  ignoresRefreshSince: null,
  accessOverride: null,
  accessState: null,
  accessReason: null,
  quarantineNotifiedAt: null,
  wipe: null,
};

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const int = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) ? v : null);

/** Reads a stored state; anything missing or malformed takes its empty value. */
export function parseDeviceState(data: JsonObject | null | undefined): DeviceState {
  if (!data) return { ...EMPTY_STATE };
  const w = data.wipe;
  let wipe: WipeState | null = null;
  if (w && typeof w === 'object' && !Array.isArray(w) && (w.kind === 'full' || w.kind === 'account') && typeof w.requestedAt === 'string') {
    wipe = {
      kind: w.kind,
      requestedAt: w.requestedAt,
      sentAt: str(w.sentAt),
      acknowledgedAt: str(w.acknowledgedAt),
      ackStatus: int(w.ackStatus),
    };
  }
  return {
    policyKey: str(data.policyKey),
    pendingKey: str(data.pendingKey),
    policyName: str(data.policyName),
    policyRevision: int(data.policyRevision),
    provisionedAt: str(data.provisionedAt),
    lastProvisionAt: str(data.lastProvisionAt),
    ackStatus: int(data.ackStatus),
    complianceReason: str(data.complianceReason),
    refusedStatus: int(data.refusedStatus),
    refreshRequests: int(data.refreshRequests) ?? 0,
    ignoresRefreshSince: str(data.ignoresRefreshSince),
    accessOverride: isAccessLevel(data.accessOverride) ? data.accessOverride : null,
    accessState: isAccessLevel(data.accessState) ? data.accessState : null,
    accessReason: str(data.accessReason),
    quarantineNotifiedAt: str(data.quarantineNotifiedAt),
    wipe,
  };
}

export function serializeDeviceState(s: DeviceState): JsonObject {
  return { ...s, wipe: s.wipe ? { ...s.wipe } : null };
}

/**
 * How many device partnerships are in each access state (for the easd_devices metric): the state
 * last decided, or "unknown" for a device never decided on yet.
 */
export async function devicesByAccess(store: { listDeviceStates(): Promise<Array<{ data: JsonObject }>> }): Promise<Record<string, number>> {
  const counts: Record<string, number> = { allow: 0, block: 0, quarantine: 0, unknown: 0 };
  for (const row of await store.listDeviceStates()) {
    const access = parseDeviceState(row.data).accessState ?? 'unknown';
    counts[access] = (counts[access] ?? 0) + 1;
  }
  return counts;
}
