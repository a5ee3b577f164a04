/** The gate's decisions (src/devices/provision-gate.ts) and its answers per protocol version. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EMPTY_STATE, type DeviceState } from '../../src/devices/device-state.ts';
import type { DeviceView } from '../../src/devices/manager.ts';
import { BUILTIN_POLICY, BUILTIN_POLICY_WITHOUT_PROVISIONING, resolvePolicy } from '../../src/devices/policy.ts';
import { decide, refusal } from '../../src/devices/provision-gate.ts';
import { toXml } from '../../src/wbxml/index.ts';

const now = new Date('2026-11-01T12:00:00Z');
const strict = resolvePolicy('phones', 2, { PolicyRefreshInterval: 3600 });
const provisioned: DeviceState = { ...EMPTY_STATE, policyKey: '77', policyName: 'phones', policyRevision: 2, provisionedAt: '2026-11-01T11:30:00.000Z' };
const view = (state: Partial<DeviceState> = {}, policy = strict, level: 'allow' | 'block' | 'quarantine' = 'allow'): DeviceView => ({
  policy,
  state: { ...provisioned, ...state },
  access: { level, reason: 'r' },
  loadedAt: 0,
});
const status = (d: ReturnType<typeof decide>) => (d.pass ? 'pass' : d.status);

describe('provisioning gate', () => {
  it('lets everything through for a policy that does not require provisioning (the built-in one with --no-provisioning)', () => {
    assert.equal(status(decide('Sync', undefined, view(EMPTY_STATE, BUILTIN_POLICY_WITHOUT_PROVISIONING), now)), 'pass');
  });

  it('the built-in policy requires provisioning (issue 14 item 10): a new device gets 142', () => {
    assert.equal(status(decide('Sync', undefined, view(EMPTY_STATE, BUILTIN_POLICY), now)), 142);
    assert.equal(status(decide('FolderSync', '0', view(EMPTY_STATE, BUILTIN_POLICY), now)), 142);
  });

  it('AllowNonProvisionableDevices: a device that never provisioned and sends no key passes; one that started is held to it', () => {
    const loose = resolvePolicy('loose', 1, { AllowNonProvisionableDevices: true });
    assert.equal(status(decide('Sync', undefined, view(EMPTY_STATE, loose), now)), 'pass');
    assert.equal(status(decide('Sync', '0', view(EMPTY_STATE, loose), now)), 142, 'a device sending 0 provisions');
    assert.equal(status(decide('Sync', undefined, view({ ...EMPTY_STATE, pendingKey: '5' }, loose), now)), 142);
    assert.equal(status(decide('Sync', '9', view({ ...EMPTY_STATE, policyKey: '8', policyName: 'loose', policyRevision: 1 }, loose), now)), 144);
  });

  it('asks for provisioning: no key, 0 or the temporary key 142; another key or a changed policy 144; refresh due 143', () => {
    assert.equal(status(decide('Sync', '77', view(), now)), 'pass');
    assert.equal(status(decide('Sync', undefined, view(), now)), 142);
    assert.equal(status(decide('Sync', '0', view(), now)), 142);
    assert.equal(status(decide('Sync', '55', view({ pendingKey: '55' }), now)), 142);
    assert.equal(status(decide('Sync', '78', view(), now)), 144);
    assert.equal(status(decide('Sync', '77', view({ policyRevision: 1 }), now)), 144);
    assert.equal(status(decide('Sync', '77', view({ provisionedAt: '2026-11-01T10:00:00.000Z' }), now)), 143);
    assert.equal(status(decide('Provision', undefined, view(), now)), 'pass');
    assert.equal(status(decide('Settings', undefined, view(), now)), 'pass');
  });

  it('wipe first, then access, then the policy', () => {
    const wipe = { kind: 'full' as const, requestedAt: 'x', sentAt: null, acknowledgedAt: null, ackStatus: null };
    assert.equal(status(decide('Sync', '77', view({ wipe }, strict, 'block'), now)), 140);
    // A quarantined device runs only the commands that can show it its notice (quarantine.ts).
    assert.equal(status(decide('ItemOperations', '77', view({}, strict, 'quarantine'), now)), 129);
    assert.equal(status(decide('SendMail', '77', view({}, strict, 'quarantine'), now)), 129);
    assert.equal(status(decide('GetItemEstimate', '77', view({}, strict, 'quarantine'), now)), 'pass');
    assert.equal(status(decide('Settings', '77', view({}, strict, 'quarantine'), now)), 'pass');
    assert.equal(status(decide('Sync', '77', view({}, strict, 'quarantine'), now)), 'pass');
    // ... and only once the policy checks pass too.
    assert.equal(status(decide('FolderSync', '78', view({}, strict, 'quarantine'), now)), 144);
    assert.equal(status(decide('Sync', '77', view({ refusedStatus: 139 }), now)), 139);
    // A refusal under an older revision of the policy no longer stands: provision again.
    assert.equal(status(decide('Sync', undefined, view({ refusedStatus: 139, policyRevision: 1, policyKey: null }), now)), 142);
  });

  it('a device flagged for ignoring refreshes is allowed or blocked as the policy says (kb-2.12)', () => {
    const due = { provisionedAt: '2026-11-01T10:00:00.000Z', ignoresRefreshSince: '2026-11-01T11:00:00.000Z' };
    assert.equal(status(decide('Sync', '77', view(due), now)), 'pass');
    const blocking = resolvePolicy('phones', 2, { PolicyRefreshInterval: 3600, IgnoredRefreshAction: 'block' });
    assert.equal(status(decide('Sync', '77', view(due, blocking), now)), 129);
    assert.equal(status(decide('Sync', '77', view({ ...due, accessOverride: 'allow' }, blocking), now)), 'pass');
  });

  it('answers with the command Status from 14.0, HTTP 449 or 403 before', () => {
    const r = refusal('GetItemEstimate', '14.0', 142, 'x');
    assert.equal(toXml(r.body!).replace(/\s/g, ''), '<?xmlversion="1.0"encoding="utf-8"?><GetItemEstimatexmlns="GetItemEstimate:"><Status>142</Status></GetItemEstimate>'.replace(/\s/g, ''));
    assert.equal(refusal('Sync', '12.1', 142, 'x').httpStatus, 449);
    assert.equal(refusal('Sync', '12.1', 140, 'x').httpStatus, 449);
    assert.equal(refusal('Sync', '12.0', 129, 'x').httpStatus, 403);
    assert.equal(refusal('GetAttachment', '14.0', 142, 'x').httpStatus, 449, 'GetAttachment has no WBXML body');
  });
});
