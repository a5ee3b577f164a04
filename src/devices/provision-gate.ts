/**
 * The provisioning gate: before a command runs, decides from the device's cached view (policy,
 * state, access) whether it may, and otherwise answers in its place.
 *
 * What a refused device is told (MS-ASCMD 2.2.2 common status codes, MS-ASPROV 3.1.5.2):
 * - a remote wipe is pending or was done: 140 RemoteWipeRequested (the device sends Provision and
 *   gets the directive, MS-ASPROV 3.2.5.1.2); a wiped device keeps getting it until the admin
 *   removes the partnership;
 * - blocked (by the admin, a rule or the default access level): 129 DeviceIsBlockedForThisUser;
 * - quarantined: FolderSync, Sync, Ping, Provision and Settings run with `ctx.restricted` set
 *   (the device sees only the Inbox and its quarantine notice, src/devices/quarantine.ts); other
 *   commands get 129. MS-ASCMD has no quarantine status (141 is "device not provisionable");
 * - when the policy requires provisioning: a device that could not comply and is not allowed gets
 *   the status it got from Provision (139, or 145 when externally managed); no policy key, "0"
 *   or the temporary key: 142 DeviceNotProvisioned; another key or a policy changed since: 144
 *   InvalidPolicyKey; the refresh interval passed: 143 PolicyRefresh. A device answered 143 more
 *   than IgnoredRefreshLimit times without provisioning is flagged, and IgnoredRefreshAction
 *   decides whether it then syncs on (allow) or is blocked (block) (kb-2.12).
 * Before 14.0 there are no common status codes: HTTP 449 (Retry after sending a Provision,
 * MS-ASHTTP 3.2.5.1) stands for 140, 142, 143 and 144, and HTTP 403 for the refusals.
 *
 * Commands that pass whatever the policy key: Provision itself and Settings (devices of 12.1 to
 * 14.0 send their DeviceInformation with Settings before provisioning, MS-ASCMD 2.2.1.18).
 * OPTIONS and Autodiscover never reach the gate. The built-in policy requires provisioning
 * (policy.ts BUILTIN_POLICY); users under a policy that does not (RequireProvisioning off, or
 * `--no-provisioning` for the built-in one) pass the policy checks entirely.
 */
import { commandByName } from '../eas/commands.ts';
import { versionNumber, type EasVersion } from '../eas/versions.ts';
import type { CommandContext, CommandHandler, CommandResult } from '../protocol/command.ts';
import { el, type WbxmlElement } from '../wbxml/tree.ts';
import type { DeviceManager, DeviceView } from './manager.ts';
import { refreshDue } from './policy.ts';
import { QUARANTINE_COMMANDS, quarantineRestriction } from './quarantine.ts';

export const GateStatus = {
  DeviceIsBlockedForThisUser: 129,
  DeviceNotFullyProvisionable: 139,
  RemoteWipeRequested: 140,
  DeviceNotProvisioned: 142,
  PolicyRefresh: 143,
  InvalidPolicyKey: 144,
  ExternallyManagedDevicesNotAllowed: 145,
} as const;

/** Statuses that tell the device to send Provision (HTTP 449 before 14.0). */
const PROVISION_AGAIN = new Set<number>([140, 142, 143, 144]);

const EXEMPT_FROM_POLICY = new Set(['Provision', 'Settings']);

export type GateDecision =
  | { pass: true; flagged?: string }
  | { pass: false; status: number; reason: string; refresh?: boolean };

/** Whether a command may run, from the device's view and the policy key it sent. Pure. */
export function decide(command: string, policyKey: string | undefined, view: DeviceView, now: Date): GateDecision {
  if (command === 'Provision') return { pass: true };
  const { state, policy, access } = view;
  if (state.wipe) return { pass: false, status: GateStatus.RemoteWipeRequested, reason: `remote wipe ${state.wipe.acknowledgedAt ? 'done' : 'pending'}` };
  // A quarantined device may connect and sync but sees only its notice (quarantine.ts): the
  // commands that can show it pass, restricted, once the policy checks below pass too.
  const quarantined = access.level === 'quarantine' && QUARANTINE_COMMANDS.has(command);
  if (access.level !== 'allow' && !quarantined) {
    return { pass: false, status: GateStatus.DeviceIsBlockedForThisUser, reason: `device ${access.level === 'block' ? 'blocked' : 'quarantined'}: ${access.reason}` };
  }
  if (policy.settings.RequireProvisioning !== true || EXEMPT_FROM_POLICY.has(command)) return { pass: true };
  const refusalStands =
    state.refusedStatus !== null &&
    state.policyName === policy.name &&
    state.policyRevision === policy.revision &&
    policy.settings.AllowNonProvisionableDevices !== true;
  if (refusalStands && state.refusedStatus !== null) {
    return { pass: false, status: state.refusedStatus, reason: `device cannot comply with policy ${policy.name}: ${state.complianceReason ?? ''}` };
  }
  // A device that has never sent Provision and sends no policy key does not provision (MS-ASHTTP
  // 2.2.1.1.2.6: the header is sent once a device has a key). AllowNonProvisionableDevices lets
  // such a device sync, as Exchange lets older devices that cannot apply policies; a device that
  // has started provisioning is held to it.
  const neverProvisioned = state.policyKey === null && state.pendingKey === null && state.refusedStatus === null;
  if (policyKey === undefined && neverProvisioned && policy.settings.AllowNonProvisionableDevices === true) return { pass: true, flagged: 'does not provision' };
  const key = policyKey?.trim();
  if (!key || key === '0' || key === state.pendingKey) return { pass: false, status: GateStatus.DeviceNotProvisioned, reason: 'no policy key' };
  if (key !== state.policyKey) return { pass: false, status: GateStatus.InvalidPolicyKey, reason: 'unknown policy key' };
  if (state.policyName !== policy.name || state.policyRevision !== policy.revision) {
    return { pass: false, status: GateStatus.InvalidPolicyKey, reason: `policy ${policy.name} changed` };
  }
  if (refreshDue(policy, state.provisionedAt ? new Date(state.provisionedAt) : null, now)) {
    if (state.ignoresRefreshSince !== null) {
      if (policy.settings.IgnoredRefreshAction === 'block' && state.accessOverride !== 'allow') {
        return { pass: false, status: GateStatus.DeviceIsBlockedForThisUser, reason: 'device ignores policy refresh (blocked by policy)' };
      }
      return { pass: true, flagged: 'ignores policy refresh' };
    }
    return { pass: false, status: GateStatus.PolicyRefresh, reason: 'policy refresh due', refresh: true };
  }
  return { pass: true };
}

/** The command's top element with only a Status: the answer to a refused command from 14.0 on. */
export function statusOnlyBody(command: string, status: number): WbxmlElement | undefined {
  const top = TOP_ELEMENTS[command];
  return top ? el(top[0], top[1], el(top[0], 'Status', status)) : undefined;
}

const TOP_ELEMENTS: Record<string, [string, string]> = {
  Sync: ['AirSync', 'Sync'],
  FolderSync: ['FolderHierarchy', 'FolderSync'],
  FolderCreate: ['FolderHierarchy', 'FolderCreate'],
  FolderUpdate: ['FolderHierarchy', 'FolderUpdate'],
  FolderDelete: ['FolderHierarchy', 'FolderDelete'],
  GetItemEstimate: ['GetItemEstimate', 'GetItemEstimate'],
  Ping: ['Ping', 'Ping'],
  MoveItems: ['Move', 'MoveItems'],
  MeetingResponse: ['MeetingResponse', 'MeetingResponse'],
  Search: ['Search', 'Search'],
  Settings: ['Settings', 'Settings'],
  ItemOperations: ['ItemOperations', 'ItemOperations'],
  ResolveRecipients: ['ResolveRecipients', 'ResolveRecipients'],
  ValidateCert: ['ValidateCert', 'ValidateCert'],
  SendMail: ['ComposeMail', 'SendMail'],
  SmartForward: ['ComposeMail', 'SmartForward'],
  SmartReply: ['ComposeMail', 'SmartReply'],
  Find: ['Find', 'Find'],
};

/** The response for a refused command in a protocol version. */
export function refusal(command: string, version: EasVersion, status: number, reason: string): CommandResult {
  const logFields = { reason, gate: status };
  const body = versionNumber(version) >= 140 ? statusOnlyBody(command, status) : undefined;
  if (body) return { body, easStatus: status, logFields };
  return { httpStatus: PROVISION_AGAIN.has(status) ? 449 : 403, logFields };
}

/** What the gate needs of the commands' services (src/commands/services.ts). */
export interface GateServices {
  devices: DeviceManager;
}

export function deviceManagerOf(ctx: Pick<CommandContext<GateServices>, 'services'>): DeviceManager {
  return ctx.services.devices;
}

/**
 * Wraps a command handler with the gate (src/http/activesync.ts wraps every handler it runs).
 * A device that may not run the command gets the refusal instead of the handler's answer.
 */
export function withProvisionGate<S extends GateServices>(handler: CommandHandler<S> | undefined): CommandHandler<S> | undefined {
  if (!handler) return undefined;
  return async (ctx) => {
    const command = commandByName(ctx.params.cmd)?.name ?? ctx.params.cmd;
    if (command === 'Provision') return handler(ctx);
    const manager = deviceManagerOf(ctx);
    const view = await manager.view(ctx.user, ctx.device);
    const now = manager.now();
    const decision = decide(command, ctx.params.policyKey, view, now);
    if (decision.pass) {
      if (view.access.level === 'quarantine') ctx.restricted = quarantineRestriction(ctx.device.deviceId);
      return handler(ctx);
    }
    if (decision.refresh) await countRefresh(manager, ctx, view);
    ctx.log.info({ status: decision.status, reason: decision.reason }, 'command refused by the provisioning gate');
    return refusal(command, ctx.version, decision.status, decision.reason);
  };
}

/** Counts a 143 answer; past the policy's limit the device is flagged as ignoring refreshes (kb-2.12). */
async function countRefresh(manager: DeviceManager, ctx: CommandContext<unknown>, view: DeviceView): Promise<void> {
  const limit = typeof view.policy.settings.IgnoredRefreshLimit === 'number' ? view.policy.settings.IgnoredRefreshLimit : 5;
  const now = manager.now().toISOString();
  const next = await manager.update(ctx.user.id, ctx.device.deviceId, (s) => {
    const refreshRequests = s.refreshRequests + 1;
    return { ...s, refreshRequests, ignoresRefreshSince: s.ignoresRefreshSince ?? (refreshRequests > limit ? now : null) };
  });
  if (next.ignoresRefreshSince === now) {
    ctx.log.warn({ refreshRequests: next.refreshRequests, action: view.policy.settings.IgnoredRefreshAction }, 'device flagged: ignores policy refresh');
  }
}
