/**
 * Persistence for mail a device sends (SendMail, SmartReply, SmartForward): which ComposeMail
 * ClientIds (MS-ASCMD 2.2.3.28.1) a device has already used, so that a replayed request sends
 * nothing twice. Per user and device; a device's ids go with the device.
 */
export interface SendingStore {
  /**
   * Claims a ClientId before its message is sent: true when it is new (the caller sends),
   * false when the device has used it before (a replay: the caller sends nothing). Two
   * concurrent claims of one id: exactly one gets true. Throws StoreError 'not_found' for an
   * unknown device.
   */
  claimClientId(userId: string, deviceId: string, clientId: string): Promise<boolean>;
  /** Gives a claim back after the send failed, so the device's retry is not taken for a replay. */
  releaseClientId(userId: string, deviceId: string, clientId: string): Promise<void>;
}
