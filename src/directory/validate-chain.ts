/**
 * Checks an S/MIME certificate the way ValidateCert asks (MS-ASCMD 2.2.1.22): the chain up to a
 * trusted root, each signature, the validity dates, that the certificate may sign or encrypt
 * mail, and, when the device asks (CheckCRL), revocation against the CRLs of the trust store.
 * Statuses are MS-ASCMD 2.2.3.177.18 Status (ValidateCert). Uses node:crypto's X509Certificate
 * (checkIssued, verify, validFrom/validTo, ca, keyUsage); CRLs are src/directory/crl.ts.
 */
import { X509Certificate } from 'node:crypto';
import { crlSignedBy, normalSerial, parseCrl, type Crl } from './crl.ts';

/** MS-ASCMD 2.2.3.177.18: the per-certificate values easd gives. */
export const ValidateCertStatus = {
  Success: 1,
  ProtocolError: 2,
  /** The signature in the digital ID cannot be validated. */
  BadSignature: 3,
  /** The digital ID was issued by an untrusted source. */
  Untrusted: 4,
  /** The certificate chain was not created correctly (an issuer is missing). */
  BadChain: 5,
  /** The digital ID is not valid for signing email. */
  NotForEmail: 6,
  /** The digital ID has expired or is not yet valid. */
  Expired: 7,
  /** The validity periods in the chain are not consistent (an issuer out of its dates). */
  ChainDates: 8,
  /** A digital ID in the chain is used incorrectly (an issuer that is not a CA). */
  MisusedInChain: 9,
  /** Information associated with the digital ID is missing or incorrect (not a certificate). */
  MissingInfo: 10,
  /** The digital ID has been revoked. */
  Revoked: 13,
  /** A digital ID in the chain has been revoked. */
  ChainRevoked: 15,
  /** Its revocation status cannot be determined (no current CRL from its issuer). */
  RevocationUnknown: 16,
  /** An unknown server error. */
  ServerError: 17,
} as const;

export interface TrustStore {
  /** The roots a chain must end at. */
  anchors: readonly X509Certificate[];
  /** CRLs for CheckCRL; a CA without one here has no known revocation status. */
  crls: readonly Crl[];
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/**
 * A trust store from PEM texts (CERTIFICATE and X509 CRL blocks; other blocks are skipped) and,
 * the roots node ships (tls.rootCertificates, parsed and passed in by the caller).
 * Throws naming `source` for a block that does not parse.
 */
export function trustStoreFrom(pems: readonly { source: string; text: string }[], systemRoots: readonly X509Certificate[] = []): TrustStore {
  const anchors: X509Certificate[] = [...systemRoots];
  const crls: Crl[] = [];
  for (const { source, text } of pems) {
    for (const m of text.matchAll(PEM_BLOCK)) {
      const der = Buffer.from(m[2]!.replace(/\s+/g, ''), 'base64');
      try {
        if (m[1] === 'CERTIFICATE') anchors.push(new X509Certificate(der));
        else if (m[1] === 'X509 CRL') crls.push(parseCrl(der));
      } catch {
        throw new Error(`${source}: a ${m[1]} block that does not parse`);
      }
    }
  }
  return { anchors, crls };
}

export interface ValidateOptions {
  now: Date;
  /** CheckCRL (MS-ASCMD 2.2.3.24): an unknown revocation status fails instead of being ignored. */
  checkCrl: boolean;
}

/** Longest chain followed (leaf to root). */
const MAX_DEPTH = 10;
/** RFC 5280 4.2.1.12: emailProtection, anyExtendedKeyUsage. */
const EMAIL_EKU = ['1.3.6.1.5.5.7.3.4', '2.5.29.37.0'];

function parse(der: Buffer): X509Certificate | undefined {
  try {
    return new X509Certificate(der);
  } catch {
    return undefined;
  }
}

const inDates = (c: X509Certificate, now: Date) => new Date(c.validFrom).getTime() <= now.getTime() && now.getTime() <= new Date(c.validTo).getTime();

/**
 * The status of one certificate (`der`) with the intermediates the device sent (`chain`, which
 * may also hold the root or nothing). The checks run from the certificate itself up to a trust
 * anchor; the first failure is the answer.
 */
export function validateCertificate(der: Buffer, chain: readonly Buffer[], trust: TrustStore, opts: ValidateOptions): number {
  const leaf = parse(der);
  if (!leaf) return ValidateCertStatus.MissingInfo;
  if (!inDates(leaf, opts.now)) return ValidateCertStatus.Expired;
  // keyUsage is node's name for the extended key usage OIDs; undefined when the extension is absent.
  if (leaf.keyUsage && !leaf.keyUsage.some((u) => EMAIL_EKU.includes(u))) return ValidateCertStatus.NotForEmail;
  const intermediates = chain.map(parse).filter((c): c is X509Certificate => c !== undefined);
  const isAnchor = (c: X509Certificate) => trust.anchors.some((a) => a.fingerprint256 === c.fingerprint256);
  const path: X509Certificate[] = [leaf];
  let current = leaf;
  while (!isAnchor(current)) {
    if (path.length > MAX_DEPTH) return ValidateCertStatus.BadChain;
    const candidates = [...intermediates, ...trust.anchors].filter((c) => c.fingerprint256 !== current.fingerprint256 && current.checkIssued(c));
    if (candidates.length === 0) {
      // A self-issued certificate not in the store is an untrusted root; otherwise its issuer is missing.
      return current.checkIssued(current) ? ValidateCertStatus.Untrusted : ValidateCertStatus.BadChain;
    }
    const issuer = candidates.find((c) => current.verify(c.publicKey));
    if (!issuer) return ValidateCertStatus.BadSignature;
    if (!issuer.ca) return ValidateCertStatus.MisusedInChain;
    if (!inDates(issuer, opts.now)) return ValidateCertStatus.ChainDates;
    if (path.some((c) => c.fingerprint256 === issuer.fingerprint256)) return ValidateCertStatus.BadChain;
    path.push(issuer);
    current = issuer;
  }
  return opts.checkCrl ? revocationStatus(path, trust, opts.now) : ValidateCertStatus.Success;
}

/**
 * Each certificate below the anchor is checked against a current CRL signed by its issuer
 * (RFC 5280 6.3); none there means the status is unknown (16), never assumed good.
 */
function revocationStatus(path: readonly X509Certificate[], trust: TrustStore, now: Date): number {
  for (let i = 0; i + 1 < path.length; i++) {
    const cert = path[i]!;
    const issuer = path[i + 1]!;
    const crls = trust.crls.filter((c) => c.thisUpdate.getTime() <= now.getTime() && (!c.nextUpdate || now.getTime() <= c.nextUpdate.getTime()) && crlSignedBy(c, issuer.publicKey));
    if (crls.length === 0) return ValidateCertStatus.RevocationUnknown;
    if (crls.some((c) => c.revoked.has(normalSerial(cert.serialNumber)))) return i === 0 ? ValidateCertStatus.Revoked : ValidateCertStatus.ChainRevoked;
  }
  return ValidateCertStatus.Success;
}
