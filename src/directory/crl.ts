/**
 * Certificate revocation lists (RFC 5280 5.1) read from the trust store, for ValidateCert's
 * CheckCRL (MS-ASCMD 2.2.3.24). node:crypto verifies signatures but does not parse CRLs, so this
 * reads the few DER fields needed: the signed part, its signature, the update times and the
 * revoked serial numbers. A CRL counts for a CA only if its signature verifies with that CA's key.
 * CRLs are never fetched from the network: a URL taken from a client's certificate would let any
 * device make the server connect where it says.
 */
import { verify, type KeyObject } from 'node:crypto';

export interface Crl {
  /** The DER of TBSCertList, what the signature covers. */
  tbs: Buffer;
  /** Digest for crypto.verify (null for Ed25519), or undefined for an algorithm easd does not check. */
  digest: string | null | undefined;
  signature: Buffer;
  thisUpdate: Date;
  nextUpdate?: Date;
  /** Serial numbers of revoked certificates: uppercase hex without leading zeros. */
  revoked: Set<string>;
}

interface Tlv {
  tag: number;
  /** Offsets of the whole element and of its content. */
  start: number;
  contentStart: number;
  end: number;
}

function tlv(buf: Buffer, at: number, limit = buf.length): Tlv {
  if (at + 2 > limit) throw new Error('truncated DER');
  const tag = buf[at]!;
  let len = buf[at + 1]!;
  let p = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || p + n > limit) throw new Error('bad DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i]!;
    p += n;
  }
  if (p + len > limit) throw new Error('truncated DER');
  return { tag, start: at, contentStart: p, end: p + len };
}

function childrenOf(buf: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = parent.contentStart; p < parent.end; ) {
    const t = tlv(buf, p, parent.end);
    out.push(t);
    p = t.end;
  }
  return out;
}

function oid(bytes: Buffer): string {
  const parts = [Math.floor(bytes[0]! / 40), bytes[0]! % 40];
  let v = 0;
  for (const b of bytes.subarray(1)) {
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

/** UTCTime (0x17, RFC 5280 4.1.2.5.1) or GeneralizedTime (0x18), both in the Z form. */
function time(buf: Buffer, t: Tlv): Date {
  const s = buf.toString('latin1', t.contentStart, t.end);
  const m = (t.tag === 0x17 ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/ : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/).exec(s);
  if (!m) throw new Error('bad CRL time');
  const year = t.tag === 0x17 ? (Number(m[1]) < 50 ? 2000 : 1900) + Number(m[1]) : Number(m[1]);
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

const isTime = (t: Tlv | undefined) => t !== undefined && (t.tag === 0x17 || t.tag === 0x18);

/** Signature algorithms (RFC 4055, RFC 5758, RFC 8410) by OID. */
const DIGESTS: Record<string, string | null> = {
  '1.2.840.113549.1.1.5': 'sha1',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.1': 'sha1',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.3.101.112': null,
};

export function normalSerial(hex: string): string {
  return hex.toUpperCase().replace(/^0+(?=.)/, '');
}

/** Parses one DER CRL; throws on anything that is not one. */
export function parseCrl(der: Buffer): Crl {
  const top = tlv(der, 0);
  const [tbsT, algT, sigT] = childrenOf(der, top);
  if (!tbsT || !algT || !sigT || tbsT.tag !== 0x30 || algT.tag !== 0x30 || sigT.tag !== 0x03) throw new Error('not a CRL');
  const algOid = childrenOf(der, algT)[0];
  if (!algOid || algOid.tag !== 0x06) throw new Error('not a CRL');
  const fields = childrenOf(der, tbsT);
  let i = fields[0]?.tag === 0x02 ? 1 : 0; // version
  i += 2; // signature AlgorithmIdentifier, issuer Name
  const thisT = fields[i++];
  if (!isTime(thisT)) throw new Error('CRL without thisUpdate');
  const nextT = isTime(fields[i]) ? fields[i++] : undefined;
  const revoked = new Set<string>();
  const list = fields[i];
  if (list && list.tag === 0x30) {
    for (const entry of childrenOf(der, list)) {
      const serial = childrenOf(der, entry)[0];
      if (serial?.tag === 0x02) revoked.add(normalSerial(der.toString('hex', serial.contentStart, serial.end)));
    }
  }
  return {
    tbs: der.subarray(tbsT.start, tbsT.end),
    digest: DIGESTS[oid(der.subarray(algOid.contentStart, algOid.end))],
    // A BIT STRING's first content byte counts unused bits (0 for signatures).
    signature: der.subarray(sigT.contentStart + 1, sigT.end),
    thisUpdate: time(der, thisT!),
    ...(nextT ? { nextUpdate: time(der, nextT) } : {}),
    revoked,
  };
}

/** Whether `key` (a CA's public key) signed this CRL. */
export function crlSignedBy(crl: Crl, key: KeyObject): boolean {
  if (crl.digest === undefined) return false;
  try {
    return verify(crl.digest, crl.tbs, key, crl.signature);
  } catch {
    return false;
  }
}
