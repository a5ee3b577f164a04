/**
 * What the durability check's clients were told: every delivery and every client write with
 * whether the server acknowledged it. The verification (verify.ts) holds the store to it.
 */
import type { DeliveryOutcome } from './lmtp.ts';

export interface MailRecord {
  /** The number in the subject and Message-ID. */
  n: number;
  messageId: string;
  delivery: DeliveryOutcome | 'pending';
  /** The body was sent in full before the outcome (an unacknowledged delivery may be stored). */
  sentData: boolean;
  readSent: boolean;
  readAcked: boolean;
  deleteSent: boolean;
  deleteAcked: boolean;
  moveSent: boolean;
  moveAcked: boolean;
  /** DstMsgId of the acknowledged move (MS-ASCMD 2.2.3.50). */
  moveDst?: string;
  /** A request that carried a write to this item was abandoned (the device was told to resync). */
  unknown: boolean;
}

export interface ContactRecord {
  /** FirstName, unique per client Add: "d<device>n<n>". */
  marker: string;
  device: number;
  clientId: string;
  addAcked: boolean;
  serverId?: string;
  /** LastName versions sent in Changes, in order; the Add carries version 0. */
  versionsSent: number[];
  ackedVersion: number;
  deleteSent: boolean;
  deleteAcked: boolean;
  unknown: boolean;
}

export interface Counts {
  deliveriesTried: number;
  deliveriesAcked: number;
  deliveriesRefused: number;
  deliveriesCut: number;
  syncRequests: number;
  moveRequests: number;
  folderSyncs: number;
  /** Requests sent again after a kill cut them (same SyncKey, same commands). */
  retries: number;
  addsAcked: number;
  changesAcked: number;
  deletesAcked: number;
  movesAcked: number;
  readsAcked: number;
  /** Change answered 7 (conflict) or another failure status: not acknowledged, not a loss. */
  writesRefused: number;
  /** MoveItems sent again after a kill and answered 1 (the first attempt had moved it). */
  moveRetriesNotFound: number;
  /** Collections the server told to start again from SyncKey 0 (Status 3), and FolderSync status 9. */
  resyncs: number;
  http5xx: number;
}

export class Ledger {
  readonly mail = new Map<number, MailRecord>();
  readonly contacts = new Map<string, ContactRecord>();
  readonly findings: string[] = [];
  /** Adds the server sent a device for an item it had already sent it: a duplicate on the device. */
  readonly deviceDuplicates: string[] = [];
  readonly counts: Counts = {
    deliveriesTried: 0,
    deliveriesAcked: 0,
    deliveriesRefused: 0,
    deliveriesCut: 0,
    syncRequests: 0,
    moveRequests: 0,
    folderSyncs: 0,
    retries: 0,
    addsAcked: 0,
    changesAcked: 0,
    deletesAcked: 0,
    movesAcked: 0,
    readsAcked: 0,
    writesRefused: 0,
    moveRetriesNotFound: 0,
    resyncs: 0,
    http5xx: 0,
  };

  finding(text: string): void {
    if (this.findings.length < 200) this.findings.push(text);
  }
}

export const subjectOf = (n: number) => `durability message ${n}`;
export const numberOfSubject = (s: string | undefined): number | undefined => {
  const m = /^durability message (\d+)$/.exec(s ?? '');
  return m ? Number(m[1]) : undefined;
};
