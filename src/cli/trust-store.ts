/**
 * `--trust-store PATH`: the roots and CRLs ValidateCert checks against (src/directory/validate-chain.ts).
 * PATH is a PEM file, or a directory whose files are read in name order (a file without PEM
 * blocks is skipped, so a c_rehash directory's symlinks or a README do no harm); CERTIFICATE
 * blocks are trusted roots, X509 CRL blocks are CRLs. Node's own roots (tls.rootCertificates)
 * are always trusted as well.
 */
import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { trustStoreFrom, type TrustStore } from '../directory/validate-chain.ts';

let systemRoots: X509Certificate[] | undefined;
/** Node's roots, parsed once per process (about 35 ms). */
function system(): X509Certificate[] {
  return (systemRoots ??= rootCertificates.map((p) => new X509Certificate(p)));
}

export function loadTrustStore(path: string | undefined): TrustStore {
  if (path === undefined || path === '') return trustStoreFrom([], system());
  const files = statSync(path).isDirectory()
    ? readdirSync(path)
        .sort()
        .map((f) => join(path, f))
        .filter((f) => statSync(f).isFile())
    : [path];
  const pems = files.map((f) => ({ source: f, text: readFileSync(f, 'latin1') })).filter((p) => p.text.includes('-----BEGIN '));
  if (pems.length === 0) throw new Error(`--trust-store ${path}: no PEM certificate or CRL found`);
  return trustStoreFrom(pems, system());
}
