/**
 * What an ActiveSync request's URI and headers say, in either query form (MS-ASHTTP 2.2.1.1.1):
 * parsed by src/http/query.ts, read by commands and by the device protections below them.
 */
export interface EasRequestParams {
  form: 'plain' | 'base64';
  cmd: string;
  user?: string;
  deviceId: string;
  deviceType: string;
  /** From the MS-ASProtocolVersion header (plain form) or the version byte (base64 form). */
  protocolVersion?: string;
  /** From X-MS-PolicyKey (plain form) or the policy key field (base64 form). */
  policyKey?: string;
  locale?: number;
  attachmentName?: string;
  collectionId?: string;
  itemId?: string;
  longId?: string;
  occurrence?: string;
  saveInSent: boolean;
  acceptMultiPart: boolean;
}
