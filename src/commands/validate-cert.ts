/**
 * ValidateCert (MS-ASCMD 2.2.1.22): a device asks whether the certificates of a signed message it
 * received are valid. The request holds Certificates (the ones to check, base64 DER), optionally
 * a CertificateChain (intermediates) and CheckCRL; the response a top-level Status and one
 * Certificate with its Status per requested certificate, in request order. The checks are
 * src/directory/validate-chain.ts against the configured trust store (`--trust-store`, plus
 * node's roots).
 *
 * Status values (MS-ASCMD 2.2.3.177.18 Status (ValidateCert)): top level 1 success, 2 protocol
 * error (not a ValidateCert request, no Certificate to check, more than MAX_CERTIFICATES in
 * either list, CheckCRL other than 0 or 1), 17 server error; per certificate see
 * ValidateCertStatus. Base64 that is not a certificate is that certificate's 10, not a protocol
 * error: the rest of the request is still answered.
 *
 * Request shape: Horde's Horde_ActiveSync_Request_ValidateCert reads the same elements from
 * devices (Certificates/Certificate, CertificateChain/Certificate, CheckCRL), and
 * grommunio-sync's SyncValidateCert maps them the same way.
 */
import { validateCertificate, ValidateCertStatus } from '../directory/validate-chain.ts';
import { child, children, el, text, type WbxmlElement } from '../wbxml/tree.ts';
import type { CommandHandler, CommandResult } from './types.ts';

const NS = 'ValidateCert';
/** Most certificates in Certificates or in CertificateChain (our bound against huge requests). */
export const MAX_CERTIFICATES = 50;

function protocolError(reason: string): CommandResult {
  return { body: el(NS, 'ValidateCert', el(NS, 'Status', ValidateCertStatus.ProtocolError)), easStatus: ValidateCertStatus.ProtocolError, logFields: { reason } };
}

/** The DER of a Certificate element: base64 text (MS-ASCMD 2.2.3.19), or opaque bytes if a client sends them so. */
function derOf(e: WbxmlElement): Buffer {
  const raw = e.children.find((c): c is Uint8Array => c instanceof Uint8Array);
  if (raw && !/^[A-Za-z0-9+/=\s]*$/.test(Buffer.from(raw).toString('latin1'))) return Buffer.from(raw);
  return Buffer.from((text(e) ?? '').replace(/\s+/g, ''), 'base64');
}

export const validateCert: CommandHandler = async (ctx) => {
  const req = ctx.request;
  if (!req || req.name !== 'ValidateCert' || req.ns !== NS) return protocolError('not a ValidateCert request');
  const certs = children(child(req, 'Certificates', NS) ?? el(NS, 'Certificates'), 'Certificate', NS);
  const chain = children(child(req, 'CertificateChain', NS) ?? el(NS, 'CertificateChain'), 'Certificate', NS);
  if (certs.length === 0) return protocolError('no Certificate to validate');
  if (certs.length > MAX_CERTIFICATES || chain.length > MAX_CERTIFICATES) return protocolError(`more than ${MAX_CERTIFICATES} certificates`);
  const crl = text(child(req, 'CheckCRL', NS))?.trim();
  if (crl !== undefined && crl !== '0' && crl !== '1') return protocolError(`CheckCRL ${crl}`);
  const opts = { now: new Date(), checkCrl: crl === '1' };
  const chainDers = chain.map(derOf);
  const statuses = certs.map((c) => {
    try {
      return validateCertificate(derOf(c), chainDers, ctx.services.trustStore, opts);
    } catch (err) {
      ctx.log.warn({ err }, 'ValidateCert: a certificate could not be checked');
      return ValidateCertStatus.ServerError;
    }
  });
  for (const s of statuses) if (s !== ValidateCertStatus.Success) ctx.log.info({ status: s }, 'ValidateCert: a certificate did not validate');
  return {
    body: el(NS, 'ValidateCert', el(NS, 'Status', ValidateCertStatus.Success), statuses.map((s) => el(NS, 'Certificate', el(NS, 'Status', s)))),
    easStatus: ValidateCertStatus.Success,
    logFields: { certificates: certs.length, valid: statuses.filter((s) => s === ValidateCertStatus.Success).length },
  };
};
