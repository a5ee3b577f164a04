/**
 * A small PKI made with the openssl command for certificate tests: a root, intermediates, S/MIME
 * and other end-entity certificates, and CRLs, all under a temporary directory. Made at test
 * time (not fixtures) because CRLs carry a nextUpdate and certificates an expiry.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CONFIG = `
[ ca ]
default_ca = CA_default
[ CA_default ]
dir = $ENV::CADIR
database = $dir/index.txt
new_certs_dir = $dir
serial = $dir/serial
crlnumber = $dir/crlnumber
default_md = sha256
default_days = 3650
default_crl_days = 30
policy = policy_any
unique_subject = no
[ policy_any ]
commonName = supplied
emailAddress = optional
[ req ]
distinguished_name = dn
[ dn ]
[ v3_ca ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
[ v3_smime ]
basicConstraints = CA:FALSE
keyUsage = digitalSignature,keyEncipherment
extendedKeyUsage = emailProtection
[ v3_server ]
basicConstraints = CA:FALSE
extendedKeyUsage = serverAuth
[ v3_notca ]
basicConstraints = CA:FALSE
`;

export interface Pki {
  dir: string;
  /** A certificate's PEM by name. */
  pem(name: string): string;
  /** A certificate's DER by name. */
  der(name: string): Buffer;
  /** A CA's current CRL as PEM. */
  crl(ca: string): string;
  /** Issues `name` from `ca` with the extensions section `ext` (dates: YYYYMMDDHHMMSSZ). */
  issue(name: string, ca: string, ext: string, dates?: { start: string; end: string }): void;
  /** Makes `name` a CA: a self-signed root when `ca` is undefined, else issued by `ca`. */
  makeCa(name: string, ca?: string): void;
  revoke(name: string, ca: string): void;
  /** Lets `name` (whatever its extensions) sign certificates, for chains with a misused issuer. */
  actAsCa(name: string): void;
  close(): void;
}

export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'easd-pki-'));
  const cnf = join(dir, 'openssl.cnf');
  writeFileSync(cnf, CONFIG);
  const run = (args: string[], cadir = dir) => execFileSync('openssl', args, { cwd: dir, env: { ...process.env, CADIR: cadir }, stdio: ['ignore', 'pipe', 'pipe'] });
  const caDir = (ca: string) => join(dir, `ca-${ca}`);
  const key = (n: string) => join(dir, `${n}.key`);
  const pemPath = (n: string) => join(dir, `${n}.pem`);
  const csr = (n: string) => {
    run(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key(n), '-out', join(dir, `${n}.csr`), '-subj', `/CN=${n}/emailAddress=${n}@example.com`, '-config', cnf]);
  };
  const sign = (n: string, ca: string, ext: string, dates?: { start: string; end: string }) => {
    const args = ['ca', '-batch', '-notext', '-config', cnf, '-extensions', ext, '-cert', pemPath(ca), '-keyfile', key(ca), '-in', join(dir, `${n}.csr`), '-out', pemPath(n)];
    if (dates) args.push('-startdate', dates.start, '-enddate', dates.end);
    run(args, caDir(ca));
  };
  // A serial with an even number of hex digits (openssl refuses odd ones), random per CA so
  // certificates of different CAs do not share serials.
  const initCa = (n: string) => {
    mkdirSync(caDir(n));
    writeFileSync(join(caDir(n), 'index.txt'), '');
    writeFileSync(join(caDir(n), 'serial'), `${(16 + Math.floor(Math.random() * 200)).toString(16)}01\n`);
    writeFileSync(join(caDir(n), 'crlnumber'), '01\n');
  };
  const pki: Pki = {
    dir,
    pem: (n) => readFileSync(pemPath(n), 'latin1'),
    der: (n) => Buffer.from(pki.pem(n).replace(/-----[^-]+-----|\s+/g, ''), 'base64'),
    crl(ca) {
      const out = join(dir, `${ca}.crl.pem`);
      run(['ca', '-gencrl', '-config', cnf, '-cert', pemPath(ca), '-keyfile', key(ca), '-out', out], caDir(ca));
      return readFileSync(out, 'latin1');
    },
    issue(n, ca, ext, dates) {
      csr(n);
      sign(n, ca, ext, dates);
    },
    makeCa(n, ca) {
      if (ca === undefined) {
        run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key(n), '-out', pemPath(n), '-days', '3650', '-subj', `/CN=${n}`, '-config', cnf, '-extensions', 'v3_ca']);
      } else {
        csr(n);
        sign(n, ca, 'v3_ca');
      }
      initCa(n);
    },
    revoke(n, ca) {
      run(['ca', '-config', cnf, '-cert', pemPath(ca), '-keyfile', key(ca), '-revoke', pemPath(n)], caDir(ca));
    },
    actAsCa: (n) => initCa(n),
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
  return pki;
}
