/**
 * Provisioning as a device does it (MS-ASPROV 3.1.5.1), on top of EasClient: the initial
 * Provision request, then the acknowledgement with the temporary key, keeping the final key in
 * the client for its next requests. Built from MS-ASPROV, not from server code.
 */
import assert from 'node:assert/strict';
import { child, childText, el, type WbxmlElement } from '../../src/wbxml/index.ts';
import type { EasClient, EasResponse } from '../helpers/eas-client.ts';

const P = 'Provision';
export const WBXML_POLICY = 'MS-EAS-Provisioning-WBXML';

export interface ProvisionOutcome {
  initial: EasResponse;
  ack?: EasResponse;
  tempKey?: string;
  finalKey?: string;
  /** The EASProvisionDoc of the initial response. */
  doc?: WbxmlElement;
  /** Top-level Status of the acknowledgement response (or of the initial one when it failed). */
  status: number;
  /** RemoteWipe or AccountOnlyRemoteWipe when the server sent a wipe directive. */
  wipe?: 'RemoteWipe' | 'AccountOnlyRemoteWipe';
}

export function deviceInformation(fields: Record<string, string>): WbxmlElement {
  return el('Settings', 'DeviceInformation', el('Settings', 'Set', Object.entries(fields).map(([k, v]) => el('Settings', k, v))));
}

export function initialRequest(info?: WbxmlElement): WbxmlElement {
  return el(P, 'Provision', info ?? null, el(P, 'Policies', el(P, 'Policy', el(P, 'PolicyType', WBXML_POLICY))));
}

export function ackRequest(key: string, status: number): WbxmlElement {
  return el(P, 'Provision', el(P, 'Policies', el(P, 'Policy', el(P, 'PolicyType', WBXML_POLICY), el(P, 'PolicyKey', key), el(P, 'Status', status))));
}

export function topStatus(res: EasResponse, ns: string): number | undefined {
  const s = res.wbxml ? childText(res.wbxml, 'Status', ns) : undefined;
  return s === undefined ? undefined : Number(s);
}

/** Both phases of provisioning; the client keeps the final key (or none when refused). */
export async function provision(client: EasClient, opts: { ackStatus?: number; info?: Record<string, string> } = {}): Promise<ProvisionOutcome> {
  const initial = await client.post('Provision', initialRequest(opts.info ? deviceInformation(opts.info) : undefined));
  assert.equal(initial.status, 200, 'initial Provision HTTP status');
  const root = initial.wbxml!;
  const status = Number(childText(root, 'Status', P));
  for (const w of ['RemoteWipe', 'AccountOnlyRemoteWipe'] as const) {
    if (child(root, w, P)) return { initial, status, wipe: w };
  }
  const policy = child(child(root, 'Policies', P)!, 'Policy', P)!;
  assert.equal(childText(policy, 'Status', P), '1', 'Policy Status of the initial response');
  const tempKey = childText(policy, 'PolicyKey', P)!;
  const doc = child(child(policy, 'Data', P)!, 'EASProvisionDoc', P);
  const ack = await client.post('Provision', ackRequest(tempKey, opts.ackStatus ?? 1), { params: { policyKey: tempKey } });
  if (ack.status !== 200 || !ack.wbxml) return { initial, ack, tempKey, doc, status: ack.status };
  const ackStatus = Number(childText(ack.wbxml, 'Status', P));
  const ackPolicy = child(child(ack.wbxml, 'Policies', P) ?? ack.wbxml, 'Policy', P);
  const finalKey = ackPolicy ? childText(ackPolicy, 'PolicyKey', P) : undefined;
  client.policyKey = finalKey;
  return { initial, ack, tempKey, finalKey, doc, status: ackStatus };
}

/** Acknowledges a wipe directive (MS-ASPROV 3.1.5.1.2.2 / 3.1.5.1.2.3). */
export async function acknowledgeWipe(client: EasClient, kind: 'RemoteWipe' | 'AccountOnlyRemoteWipe', status = 1): Promise<EasResponse> {
  return client.post('Provision', el(P, 'Provision', el(P, kind, el(P, 'Status', status))));
}

export function folderSyncRequest(key = '0'): WbxmlElement {
  return el('FolderHierarchy', 'FolderSync', el('FolderHierarchy', 'SyncKey', key));
}
