/**
 * A private Postfix instance for tests (Debian's `postfix` package; scripts/ensure-test-deps.sh
 * installs it without starting the system instance).
 *
 *   const pf = await startPostfix({ lmtpPort, domains: ['example.com'], relayPort: sink.port });
 *   ... submit to 127.0.0.1:pf.smtpPort ...
 *   await pf.stop();
 *
 * Everything lives in a temp directory: main.cf and master.cf (`postfix -c DIR`), its own
 * queue_directory and data_directory, a log file (maillog_file, read by `log()`), loopback only
 * (inet_interfaces = 127.0.0.1) and an smtpd on a free high port instead of 25. Mail for
 * `domains` goes to easd over LMTP (virtual_transport = lmtp:inet:127.0.0.1:lmtpPort); all other
 * mail goes to `relayPort` on loopback (relayhost), e.g. a capturing SMTP sink, so a test of
 * sending can see what left through Postfix. Recipient checks are left to easd
 * (smtpd_reject_unlisted_recipient = no): its per-recipient 550 becomes Postfix's bounce.
 *
 * Needs root (Postfix's master starts as root and its daemons run as the `postfix` user).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PostfixOptions {
  /** easd's LMTP port on 127.0.0.1. */
  lmtpPort: number;
  /** Domains delivered to easd over LMTP. */
  domains: readonly string[];
  /** Where other mail goes (127.0.0.1:relayPort); default: nowhere (deferred). */
  relayPort?: number;
  /** Postfix's message_size_limit in bytes (its EHLO SIZE); default Postfix's own (10 MB). */
  messageSizeLimit?: number;
}

export interface PostfixInstance {
  dir: string;
  /** Postfix's smtpd on 127.0.0.1. */
  smtpPort: number;
  /** Postfix's log so far. */
  log(): Promise<string>;
  /** Asks Postfix to try the queue now (`postqueue -f`). */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

/** Why Postfix cannot run here, or undefined when it can. */
export function postfixUnavailable(): string | undefined {
  if (!existsSync('/usr/sbin/postfix')) return 'postfix is not installed (scripts/ensure-test-deps.sh installs it)';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'a private Postfix instance needs root';
  return undefined;
}

/** A port free on loopback right now (Postfix cannot be told to pick one itself). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function masterCf(smtpPort: number): string {
  // No chroot (the temp queue has no chroot jail), the smtpd on a high loopback port.
  const rows = [
    `127.0.0.1:${smtpPort} inet n - n - - smtpd`,
    'pickup unix n - n 60 1 pickup',
    'cleanup unix n - n - 0 cleanup',
    'qmgr unix n - n 300 1 qmgr',
    'rewrite unix - - n - - trivial-rewrite',
    'bounce unix - - n - 0 bounce',
    'defer unix - - n - 0 bounce',
    'trace unix - - n - 0 bounce',
    'verify unix - - n - 1 verify',
    'flush unix n - n 1000? 0 flush',
    'proxymap unix - - n - - proxymap',
    'smtp unix - - n - - smtp',
    'relay unix - - n - - smtp',
    'showq unix n - n - - showq',
    'error unix - - n - - error',
    'retry unix - - n - - error',
    'discard unix - - n - - discard',
    'lmtp unix - - n - - lmtp',
    'anvil unix - - n - 1 anvil',
    'scache unix - - n - 1 scache',
    'postlog unix-dgram n - n - 1 postlogd',
  ];
  return rows.join('\n') + '\n';
}

function mainCf(dir: string, o: PostfixOptions): string {
  return [
    'compatibility_level = 3.6',
    `queue_directory = ${dir}/queue`,
    `data_directory = ${dir}/data`,
    `maillog_file = ${dir}/maillog`,
    `maillog_file_prefixes = ${dir}`,
    'mail_owner = postfix',
    'setgid_group = postdrop',
    'inet_interfaces = 127.0.0.1',
    'inet_protocols = ipv4',
    'myhostname = postfix.easd.test',
    'mydomain = easd.test',
    'myorigin = $myhostname',
    'mydestination =',
    'local_recipient_maps =',
    'alias_maps =',
    'alias_database =',
    'mynetworks = 127.0.0.0/8',
    'smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination',
    'smtpd_reject_unlisted_recipient = no',
    `virtual_mailbox_domains = ${o.domains.join(' ')}`,
    `virtual_transport = lmtp:inet:127.0.0.1:${o.lmtpPort}`,
    o.relayPort ? `relayhost = [127.0.0.1]:${o.relayPort}` : 'relayhost =',
    ...(o.messageSizeLimit !== undefined ? [`message_size_limit = ${o.messageSizeLimit}`] : []),
    'smtp_tls_security_level = none',
    'smtpd_tls_security_level = none',
    'smtp_dns_support_level = disabled',
    'biff = no',
    // Retry soon: tests wait seconds, not minutes.
    'queue_run_delay = 1s',
    'minimal_backoff_time = 1s',
    'maximal_backoff_time = 2s',
    'lmtp_connection_cache_on_demand = no',
    'smtp_connection_cache_on_demand = no',
    'delay_warning_time = 0',
    '',
  ].join('\n');
}

export async function startPostfix(o: PostfixOptions): Promise<PostfixInstance> {
  const why = postfixUnavailable();
  if (why) throw new Error(`Postfix cannot run here: ${why}`);
  const dir = await mkdtemp(join(tmpdir(), 'easd-postfix-'));
  // The postfix user's daemons read data_directory and the log through this directory.
  await chmod(dir, 0o755);
  await mkdir(join(dir, 'data'), { recursive: true });
  await mkdir(join(dir, 'queue'), { recursive: true });
  const smtpPort = await freePort();
  await writeFile(join(dir, 'main.cf'), mainCf(dir, o));
  await writeFile(join(dir, 'master.cf'), masterCf(smtpPort));
  await run('chown', ['postfix:postfix', join(dir, 'data')]);
  const postfix = (...args: string[]) => run('/usr/sbin/postfix', ['-c', dir, ...args], { timeout: 60_000 });
  try {
    // `start` creates the queue directories with their owners (postfix-script, post-install).
    await postfix('start');
  } catch (err) {
    const log = await readFile(join(dir, 'maillog'), 'utf8').catch(() => '');
    await rm(dir, { recursive: true, force: true });
    throw new Error(`postfix start failed: ${(err as Error).message}\n${log}`, { cause: err });
  }
  // Wait for smtpd's port.
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(true));
      s.listen(smtpPort, '127.0.0.1', () => s.close(() => resolve(false)));
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  let stopped = false;
  return {
    dir,
    smtpPort,
    log: () => readFile(join(dir, 'maillog'), 'utf8').catch(() => ''),
    flush: async () => {
      await run('/usr/sbin/postqueue', ['-c', dir, '-f'], { timeout: 30_000 }).catch(() => undefined);
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await postfix('stop').catch(() => undefined);
      // master exits shortly after `stop`; wait for its pid file lock to go before removing the queue.
      for (let i = 0; i < 50 && existsSync(join(dir, 'queue', 'pid', 'master.pid')); i++) await new Promise((r) => setTimeout(r, 100));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
