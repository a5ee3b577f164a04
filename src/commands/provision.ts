/**
 * Provision (MS-ASCMD 2.2.1.14, MS-ASPROV 3.2.5.1): hands a device its policy and policy key,
 * takes its acknowledgement, and delivers remote wipes.
 *
 * - DeviceInformation (Settings code page, 14.1+, MS-ASPROV 2.2.2.52) in the request is stored as
 *   device data DEVICE_INFORMATION in the shape of src/devices/device-information.ts, as the
 *   Settings command stores it (model and OS feed the access rules).
 * - Initial request (Policy with a PolicyType, no PolicyKey): the user's policy as an
 *   EASProvisionDoc and a temporary policy key (MS-ASPROV 3.2.5.1.1).
 * - Acknowledgement (Policy with the temporary PolicyKey and a Status): Status 1 gets the final
 *   key (3.2.5.1.2). Status 2 (partial), 3 (not applied) or 4 (provisioned by a third party,
 *   2.2.2.54.1) gets a final key only when the policy sets AllowNonProvisionableDevices;
 *   otherwise the top-level Status is 139 (cannot fully comply) or 145 (externally managed)
 *   (MS-ASPROV 3.1.5.2), and the reason is stored for the admin (kb-2.1). Acknowledging a key
 *   that is not the temporary one gets Policy Status 5.
 * - A wipe requested by the admin answers every Provision with RemoteWipe (or, 16.1,
 *   AccountOnlyRemoteWipe; MS-ASPROV 3.2.5.1.2.1); the device's acknowledgement (RemoteWipe/
 *   Status) is recorded with its time (3.2.5.1.2.2). A failed wipe gets the directive again.
 *   An account-only wipe cannot be told to a device below 16.1: it is refused (129 / 403) instead.
 * - Policy keys are random unsigned 32-bit numbers other than 0 (MS-ASHTTP carries them as
 *   4 bytes in the base64 query form).
 *
 * Statuses above 100 do not exist before 14.0: there HTTP 403 stands for them.
 */
import { randomInt } from 'node:crypto';
import { versionNumber } from '../eas/versions.ts';
import { DEVICE_INFORMATION, parseDeviceInformation, SETTINGS_NS } from '../devices/device-information.ts';
import type { DeviceState } from '../devices/device-state.ts';
import { NS, POLICY_TYPE_WBXML, provisionDoc } from '../devices/policy.ts';
import { deviceManagerOf, GateStatus } from '../devices/provision-gate.ts';
import { child, childText, el } from '../wbxml/tree.ts';
import type { CommandContext, CommandHandler, CommandResult } from './types.ts';

export const ProvisionStatus = { Success: 1, ProtocolError: 2, ServerError: 3 } as const;
export const PolicyStatus = { Success: 1, NoPolicy: 2, UnknownPolicyType: 3, Corrupted: 4, WrongPolicyKey: 5 } as const;

/** Acknowledgement Status values of a device (MS-ASPROV 2.2.2.54.1, in requests). */
const ACK_MEANING: Record<number, string> = {
  2: 'the device applied the policy only partially (Status 2)',
  3: 'the device did not apply the policy at all (Status 3)',
  4: 'the device says it is provisioned by a third party (Status 4)',
};

export function newPolicyKey(): string {
  return String(randomInt(1, 2 ** 32 - 1));
}

function status(ctx: CommandContext, value: number, reason: string, extra: ReturnType<typeof el>[] = []): CommandResult {
  if (value > 100 && versionNumber(ctx.version) < 140) return { httpStatus: 403, logFields: { reason } };
  return { body: el(NS, 'Provision', el(NS, 'Status', value), extra), easStatus: value, logFields: { reason } };
}

export const provision: CommandHandler = async (ctx) => {
  const req = ctx.request;
  if (!req || req.ns !== NS || req.name !== 'Provision') return status(ctx, ProvisionStatus.ProtocolError, 'no Provision element');
  const manager = deviceManagerOf(ctx);
  const userId = ctx.user.id;
  const deviceId = ctx.device.deviceId;
  const now = manager.now().toISOString();
  try {
    const info = child(req, 'DeviceInformation', SETTINGS_NS);
    if (info) {
      await ctx.deviceState.putDeviceData(userId, deviceId, DEVICE_INFORMATION, parseDeviceInformation(info));
      manager.invalidate(userId, deviceId);
    }

    // Remote wipe acknowledgements (MS-ASPROV 3.1.5.1.2.2, 3.1.5.1.2.3).
    const wipeAck = child(req, 'RemoteWipe', NS) ?? child(req, 'AccountOnlyRemoteWipe', NS);
    if (wipeAck) {
      const reported = Number(childText(wipeAck, 'Status', NS));
      if (reported !== 1 && reported !== 2) return status(ctx, ProvisionStatus.ProtocolError, 'wipe acknowledgement Status is not 1 or 2');
      const state = await manager.state(userId, deviceId);
      if (!state.wipe) return status(ctx, ProvisionStatus.ProtocolError, 'wipe acknowledged but none was requested');
      await manager.update(userId, deviceId, (s) => ({
        ...s,
        wipe: s.wipe ? { ...s.wipe, acknowledgedAt: now, ackStatus: reported } : null,
      }));
      ctx.log.warn({ ackStatus: reported, kind: state.wipe.kind }, 'device acknowledged a remote wipe');
      if (reported === 1) return status(ctx, ProvisionStatus.Success, 'wipe acknowledged');
      return status(ctx, ProvisionStatus.ProtocolError, 'wipe failed on the device', [wipeDirective(ctx, state)!]);
    }

    const state = await manager.state(userId, deviceId);
    if (state.wipe) {
      const directive = wipeDirective(ctx, state);
      if (!directive) return status(ctx, GateStatus.DeviceIsBlockedForThisUser, 'account-only wipe needs protocol 16.1');
      await manager.update(userId, deviceId, (s) => ({ ...s, lastProvisionAt: now, wipe: s.wipe ? { ...s.wipe, sentAt: now } : null }));
      return status(ctx, ProvisionStatus.Success, `${state.wipe.kind} wipe sent`, [directive]);
    }

    const policyEl = child(child(req, 'Policies', NS) ?? req, 'Policy', NS);
    if (!policyEl) {
      // DeviceInformation alone (a 14.1+ device may send it so): nothing more to say.
      return info ? status(ctx, ProvisionStatus.Success, 'device information') : status(ctx, ProvisionStatus.ProtocolError, 'no Policy');
    }
    const policyType = childText(policyEl, 'PolicyType', NS) ?? '';
    if (policyType !== POLICY_TYPE_WBXML) {
      return policyResult(PolicyStatus.UnknownPolicyType, policyType, undefined, `unknown PolicyType "${policyType}"`);
    }
    const ackKey = childText(policyEl, 'PolicyKey', NS);
    const ackStatus = childText(policyEl, 'Status', NS);
    if (ackKey === undefined) return await initial(ctx, now);
    // Acknowledgement Status is 1-4 (MS-ASPROV 2.2.2.54.1); anything else is a malformed request.
    const reported = ackStatus === undefined ? 1 : Number(ackStatus);
    if (!Number.isInteger(reported) || reported < 1 || reported > 4 || !/^\d{1,10}$/.test(ackKey)) {
      return status(ctx, ProvisionStatus.ProtocolError, 'malformed policy acknowledgement');
    }
    return await acknowledge(ctx, now, ackKey, reported);
  } catch (err) {
    ctx.log.error({ err }, 'Provision failed');
    return status(ctx, ProvisionStatus.ServerError, 'server error');
  }
};

function wipeDirective(ctx: CommandContext, state: DeviceState) {
  if (!state.wipe) return undefined;
  if (state.wipe.kind === 'full') return el(NS, 'RemoteWipe');
  return versionNumber(ctx.version) >= 161 ? el(NS, 'AccountOnlyRemoteWipe') : undefined;
}

function policyResult(policyStatus: number, policyType: string, key: string | undefined, reason: string, data?: ReturnType<typeof el>): CommandResult {
  return {
    body: el(
      NS,
      'Provision',
      el(NS, 'Status', ProvisionStatus.Success),
      el(NS, 'Policies', el(NS, 'Policy', el(NS, 'PolicyType', policyType), el(NS, 'Status', policyStatus), key !== undefined && el(NS, 'PolicyKey', key), data && el(NS, 'Data', data))),
    ),
    easStatus: ProvisionStatus.Success,
    logFields: { reason, policyStatus },
  };
}

async function initial(ctx: CommandContext, now: string): Promise<CommandResult> {
  const manager = deviceManagerOf(ctx);
  const policy = await manager.policyFor(ctx.user);
  const key = newPolicyKey();
  await manager.update(ctx.user.id, ctx.device.deviceId, (s) => ({
    ...s,
    pendingKey: key,
    policyName: policy.name,
    policyRevision: policy.revision,
    lastProvisionAt: now,
  }));
  return policyResult(PolicyStatus.Success, POLICY_TYPE_WBXML, key, `policy ${policy.name} sent`, provisionDoc(policy, ctx.version));
}

async function acknowledge(ctx: CommandContext, now: string, ackKey: string, reported: number): Promise<CommandResult> {
  const manager = deviceManagerOf(ctx);
  const state = await manager.state(ctx.user.id, ctx.device.deviceId);
  if (state.pendingKey === null || ackKey !== state.pendingKey) {
    return policyResult(PolicyStatus.WrongPolicyKey, POLICY_TYPE_WBXML, undefined, 'acknowledged a key that is not the temporary one');
  }
  const policy = await manager.policyFor(ctx.user);
  const complies = reported === 1;
  const allowed = complies || policy.settings.AllowNonProvisionableDevices === true;
  const reason = complies ? null : (ACK_MEANING[reported] ?? `the device acknowledged with Status ${reported}`);
  if (!allowed) {
    const refused = reported === 4 ? GateStatus.ExternallyManagedDevicesNotAllowed : GateStatus.DeviceNotFullyProvisionable;
    await manager.update(ctx.user.id, ctx.device.deviceId, (s) => ({
      ...s,
      pendingKey: null,
      policyKey: null,
      ackStatus: reported,
      complianceReason: `${reason}; policy ${policy.name} does not allow non-provisionable devices`,
      refusedStatus: refused,
      lastProvisionAt: now,
    }));
    ctx.log.warn({ ackStatus: reported, policy: policy.name }, 'device cannot comply with the policy');
    return status(ctx, refused, reason ?? 'cannot comply');
  }
  const finalKey = newPolicyKey();
  await manager.update(ctx.user.id, ctx.device.deviceId, (s) => ({
    ...s,
    pendingKey: null,
    policyKey: finalKey,
    policyName: policy.name,
    policyRevision: policy.revision,
    provisionedAt: now,
    lastProvisionAt: now,
    ackStatus: reported,
    complianceReason: reason === null ? null : `${reason}; allowed by policy ${policy.name}`,
    refusedStatus: null,
    refreshRequests: 0,
    ignoresRefreshSince: null,
  }));
  return policyResult(PolicyStatus.Success, POLICY_TYPE_WBXML, finalKey, complies ? 'policy acknowledged' : 'partial compliance allowed');
}
