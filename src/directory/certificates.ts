/**
 * S/MIME certificates of directory users: reading what an administrator gives (`easd user set
 * --certificate`), describing them (`easd user show`), and the Certificates element of a
 * ResolveRecipients response (MS-ASCMD 2.2.3.23.1).
 *
 * Parsing and validity use node:crypto's X509Certificate; the store keeps only the DER bytes.
 */
import { X509Certificate } from 'node:crypto';
import { el, type WbxmlElement } from '../wbxml/tree.ts';

const NS = 'ResolveRecipients';

/** MS-ASCMD 2.2.3.177.12 Status (ResolveRecipients), the values a Certificates element carries. */
export const CertificateStatus = { Success: 1, NoValidCertificate: 7, LimitReached: 8 } as const;

/** What `easd user show` prints of a certificate. */
export interface CertificateInfo {
  subject: string;
  issuer: string;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  /** SHA-256 of the DER bytes, lowercase hex without separators (the store's key). */
  fingerprint: string;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/**
 * The certificates in a file: PEM with one or more CERTIFICATE blocks (other blocks, such as a
 * private key, are refused rather than skipped, so a key is never taken for a certificate by
 * mistake), or one DER certificate. Throws an Error with a message for an administrator.
 */
export function parseCertificateFile(data: Buffer, name = 'the file'): Buffer[] {
  const textForm = data.toString('latin1');
  if (textForm.includes('-----BEGIN ')) {
    const out: Buffer[] = [];
    for (const m of textForm.matchAll(PEM_BLOCK)) {
      if (m[1] !== 'CERTIFICATE') throw new Error(`${name} holds a ${m[1]} block; give only certificates (never a private key)`);
      const der = Buffer.from(m[2]!.replace(/\s+/g, ''), 'base64');
      out.push(derOf(der, name));
    }
    if (out.length === 0) throw new Error(`${name} has no complete PEM certificate`);
    return out;
  }
  return [derOf(data, name)];
}

function derOf(der: Buffer, name: string): Buffer {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch {
    throw new Error(`${name} is not an X.509 certificate (PEM or DER)`);
  }
  // X509Certificate accepts PEM too; keep the DER form whatever came in.
  return Buffer.from(cert.raw);
}

export function describeCertificate(der: Buffer): CertificateInfo {
  const cert = new X509Certificate(der);
  return {
    subject: oneLine(cert.subject),
    issuer: oneLine(cert.issuer),
    serialNumber: cert.serialNumber,
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    fingerprint: cert.fingerprint256.replace(/:/g, '').toLowerCase(),
  };
}

/** Node gives distinguished names one attribute a line. */
function oneLine(dn: string): string {
  return dn.split('\n').filter(Boolean).join(', ');
}

/** Valid at `now`: not before its start nor after its end (expired certificates are never returned). */
export function isCurrent(der: Buffer, now: Date): boolean {
  try {
    const info = describeCertificate(der);
    return info.notBefore.getTime() <= now.getTime() && now.getTime() <= info.notAfter.getTime();
  } catch {
    return false;
  }
}

/**
 * The Certificates element for one resolved recipient (MS-ASCMD 2.2.3.23.1).
 *
 * - `ders`: the recipient's stored certificates; only those valid at `now` count.
 * - retrieval 2 (full): Status 1, CertificateCount and RecipientCount, one Certificate
 *   (2.2.3.19, base64 DER) each. None valid: Status 7 (no valid certificate), CertificateCount 0.
 * - MaxCertificates (2.2.3.101) bounds the certificates of the whole response: a recipient whose
 *   certificates do not all fit gets none, Status 8, and CertificateCount the number not returned
 *   (2.2.3.21), so no recipient receives an incomplete set. `budget.left` is shared across the
 *   response (undefined: no limit).
 * - retrieval 3 (mini): the MiniCertificate BLOB (2.2.3.112) has no published format, so easd
 *   cannot build one a client would read; every recipient answers Status 7 with
 *   CertificateCount 0, the status for a recipient without a certificate that can be returned.
 */
export function certificatesElement(ders: readonly Buffer[], retrieval: 2 | 3, now: Date, budget: { left?: number }): WbxmlElement {
  const none = () => el(NS, 'Certificates', el(NS, 'Status', CertificateStatus.NoValidCertificate), el(NS, 'CertificateCount', 0));
  if (retrieval === 3) return none();
  const valid = ders.filter((d) => isCurrent(d, now));
  if (valid.length === 0) return none();
  if (budget.left !== undefined) {
    if (valid.length > budget.left) {
      return el(NS, 'Certificates', el(NS, 'Status', CertificateStatus.LimitReached), el(NS, 'CertificateCount', valid.length), el(NS, 'RecipientCount', 1));
    }
    budget.left -= valid.length;
  }
  return el(
    NS,
    'Certificates',
    el(NS, 'Status', CertificateStatus.Success),
    el(NS, 'CertificateCount', valid.length),
    el(NS, 'RecipientCount', 1),
    valid.map((d) => el(NS, 'Certificate', d.toString('base64'))),
  );
}
