import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { createSecureContext } from 'node:tls';
import { Option, type Command } from 'commander';
import { pino } from 'pino';
import { hashPassword } from '../auth/password.ts';
import { DEFAULT_MAX_REQUEST_BYTES } from '../http/server.ts';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../mail/lmtp-server.ts';
import { DEFAULT_PICTURE_MAX_BYTES } from '../classes/contacts.ts';
import { buildRuntime } from './runtime.ts';
import { loadTrustStore } from './trust-store.ts';
import type { Store } from '../store/types.ts';
import { parseStartTls } from '../mail/relay.ts';
import { probeRelaySize, relaySizeNotice } from '../mail/relay-probe.ts';
import { addProtectionOptions, protectionConfigFrom, type ProtectionCliOptions } from '../devices/protection.ts';
import { setBuildInfo, startMetricsListener } from '../http/metrics.ts';
import { sqliteAccessWarnings } from '../store/sqlite.ts';
import { booleanWord, BOOLEAN_VALUES, withSwitchesFromEnv } from './booleans.ts';
import { waitForStore } from './wait-for-store.ts';
import { addJunkOptions, junkRulesFrom, type JunkCliOptions } from './junk-options.ts';
import { addStoreOptions, openStoreFrom, parseCount, parseListen, parseSize, type StoreCliOptions } from './options.ts';
import { DEFAULT_MAX_EVENTS_PER_MESSAGE } from '../meetings/meeting-limit.ts';

export const DEFAULT_LISTEN = '127.0.0.1:8080';
export const DEMO_USER = 'demo@localhost';

interface ServeOptions extends StoreCliOptions, ProtectionCliOptions, JunkCliOptions {
  listen: string;
  tlsCert?: string;
  tlsKey?: string;
  publicUrl?: string;
  trustProxy: boolean | string;
  allowPlainHttp: boolean;
  maxRequestSize: string;
  logLevel: string;
  demoUser: boolean;
  lmtp?: string;
  smtp?: string;
  acceptedDomain: string[];
  maxMessageSize: string;
  smtpRelay?: string;
  smtpRelayUser?: string;
  smtpRelayPassword?: string;
  smtpRelayStarttls: string;
  adminEmail?: string;
  metricsListen?: string;
  provisioning: boolean;
  maxContactPictureSize: string;
  maxEventsPerMessage: string;
  trustStore?: string;
}

/** Repeatable --accepted-domain; the environment variable may list several, comma-separated. */
function collectDomains(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((d) => d.trim().toLowerCase()).filter((d) => d !== '')];
}

/** An address only this host reaches: 127.0.0.0/8, ::1 or localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || /^(?:::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * Why the demo user is not made on this server, or undefined for the quick start: the embedded
 * SQLite store, plain HTTP on a loopback address, no reverse proxy in front.
 */
export function notQuickStart(o: { postgres: boolean; tls: boolean; host: string; trustProxy: boolean }): string | undefined {
  const why = [
    ...(o.postgres ? ['the store is on PostgreSQL'] : []),
    ...(o.tls ? ['it serves TLS'] : []),
    ...(isLoopbackHost(o.host) ? [] : [`it listens on ${o.host}, not a loopback address`]),
    ...(o.trustProxy ? ['it trusts a reverse proxy (--trust-proxy)'] : []),
  ];
  return why.length > 0 ? why.join(', ') : undefined;
}

/** On an empty store, a first user to try the server with; its password is shown once. */
async function ensureDemoUser(store: Store): Promise<string> {
  const password = randomBytes(12).toString('base64url');
  await store.createUser({ email: DEMO_USER, passwordHash: await hashPassword(password), displayName: 'Demo User' });
  return password;
}

export function registerServe(program: Command): void {
  const cmd = program
    .command('serve')
    .description('run the ActiveSync server')
    .addOption(new Option('--listen <host:port>', 'address to listen on').env('EASD_LISTEN').default(DEFAULT_LISTEN))
    .addOption(new Option('--tls-cert <file>', 'PEM certificate: serve HTTPS directly').env('EASD_TLS_CERT'))
    .addOption(new Option('--tls-key <file>', 'PEM private key for --tls-cert').env('EASD_TLS_KEY'))
    .addOption(new Option('--public-url <url>', 'URL devices reach easd at, for Autodiscover (e.g. https://mail.example.com)').env('EASD_PUBLIC_URL'))
    .addOption(
      new Option('--trust-proxy [addresses]', 'trust X-Forwarded-For/-Proto/-Host from these reverse proxies (comma-separated addresses or CIDRs; without a value: loopback)')
        .env('EASD_TRUST_PROXY')
        .default(false),
    )
    .addOption(new Option('--allow-plain-http', 'accept passwords over plain HTTP from non-loopback addresses (default: refused with 403)').env('EASD_ALLOW_PLAIN_HTTP').default(false))
    .addOption(new Option('--max-request-size <size>', 'largest request body (e.g. 50M)').env('EASD_MAX_REQUEST_SIZE').default(`${DEFAULT_MAX_REQUEST_BYTES / 1024 / 1024}M`))
    .addOption(new Option('--log-level <level>', 'trace, debug, info, warn or error').env('EASD_LOG_LEVEL').default('info'))
    .addOption(new Option('--no-demo-user', 'do not create demo@localhost on an empty store').env('EASD_NO_DEMO_USER'))
    .addOption(new Option('--lmtp <host:port>', 'take mail in over LMTP from the MTA (e.g. 127.0.0.1:2424)').env('EASD_LMTP'))
    .addOption(new Option('--smtp <host:port>', 'take mail in over SMTP (no auth: for a trusted MTA only)').env('EASD_SMTP'))
    .addOption(
      new Option('--accepted-domain <domain>', 'a mail domain easd accepts besides its users\' own (repeatable)')
        .env('EASD_ACCEPTED_DOMAIN')
        .argParser(collectDomains)
        .default([]),
    )
    .addOption(
      new Option('--max-message-size <size>', 'largest message taken in over LMTP/SMTP (e.g. 50M)')
        .env('EASD_MAX_MESSAGE_SIZE')
        .default(`${DEFAULT_MAX_MESSAGE_BYTES / 1024 / 1024}M`),
    )
    .addOption(new Option('--smtp-relay <url>', 'send mail for outside recipients through this SMTP relay (smtp://host:port or smtps://host:port)').env('EASD_SMTP_RELAY'))
    .addOption(new Option('--smtp-relay-user <name>', 'user name for SMTP AUTH at the relay').env('EASD_SMTP_RELAY_USER'))
    .addOption(new Option('--smtp-relay-password <password>', 'password for SMTP AUTH at the relay (prefer the environment variable)').env('EASD_SMTP_RELAY_PASSWORD'))
    .addOption(
      new Option('--smtp-relay-starttls <mode>', 'STARTTLS with an smtp:// relay: require, opportunistic or off')
        .env('EASD_SMTP_RELAY_STARTTLS')
        .default('opportunistic'),
    );
  // The built-in policy requires provisioning (src/devices/policy.ts); turning it off is explicit.
  cmd.addOption(new Option('--no-provisioning', 'devices under the built-in policy sync without provisioning (they cannot be remote-wiped until they provision)').env('EASD_NO_PROVISIONING'));
  // Contact photos phones store (src/classes/contacts.ts): up to this, a larger one is left out.
  cmd.addOption(
    new Option('--max-contact-picture-size <size>', 'largest contact photo a phone may store (e.g. 5M); a larger one is left out, the contact kept')
      .env('EASD_MAX_CONTACT_PICTURE_SIZE')
      .default(`${DEFAULT_PICTURE_MAX_BYTES / 1024 / 1024}M`),
  );
  // Calendar items one delivered message may make (src/meetings/meeting-limit.ts); the rest is reported to the user.
  cmd.addOption(
    new Option('--max-events-per-message <n>', 'most meetings one delivered message may add or change in a calendar (and occurrence changes per meeting); the rest is left out and the user told')
      .env('EASD_MAX_EVENTS_PER_MESSAGE')
      .default(String(DEFAULT_MAX_EVENTS_PER_MESSAGE)),
  );
  cmd.addOption(new Option('--admin-email <address>', 'administrator told of quarantined devices (delivered to the Inbox if a local user)').env('EASD_ADMIN_EMAIL'));
  // Prometheus metrics on a separate listener only (src/http/metrics.ts): off by default.
  cmd.addOption(new Option('--metrics-listen <host:port>', 'serve Prometheus metrics at /metrics on this separate address (e.g. 127.0.0.1:9464)').env('EASD_METRICS_LISTEN'));
  // ValidateCert's roots and CRLs besides node's own roots (src/cli/trust-store.ts).
  cmd.addOption(new Option('--trust-store <path>', 'PEM file or directory of roots and CRLs that ValidateCert trusts besides the system roots').env('EASD_TRUST_STORE'));
  // Throttling, loop detection, lockout, held-request limit (src/devices/protection.ts).
  addProtectionOptions(cmd);
  // Junk mail: the MTA's spam headers file a message into Junk E-mail (src/cli/junk-options.ts).
  addJunkOptions(cmd);
  // EASD_ALLOW_PLAIN_HTTP, EASD_NO_LOCKOUT, ...: on/off values, anything else refused (booleans.ts).
  withSwitchesFromEnv(cmd);
  addStoreOptions(cmd).action(async (opts: ServeOptions, self: Command) => {
    const { host, port } = parseListen(opts.listen);
    const trustProxy = trustedProxies(opts.trustProxy, self.getOptionValueSource('trustProxy') === 'env' ? 'EASD_TRUST_PROXY' : '--trust-proxy');
    const protection = protectionConfigFrom(opts);
    if (Boolean(opts.tlsCert) !== Boolean(opts.tlsKey)) throw new Error('--tls-cert and --tls-key go together');
    const tls = opts.tlsCert && opts.tlsKey ? readTls(opts.tlsCert, opts.tlsKey) : undefined;
    const log = pino({ level: opts.logLevel, base: { svc: 'easd' } });
    const postgres = Boolean(opts.database);
    // A PostgreSQL that is not up yet is waited for (src/cli/wait-for-store.ts); SQLite is a file here,
    // made on the quick start's first run (src/cli/store-location.ts).
    const store = postgres ? await waitForStore(() => openStoreFrom(opts), { log, url: opts.database! }) : await openStoreFrom(opts, { create: true });
    // The store holds password hashes and mail: owner-only (src/store/sqlite.ts); wider is told at every start.
    if (!postgres) {
      for (const { path, mode } of sqliteAccessWarnings(opts.data)) {
        log.warn({ path, mode }, `${path} is accessible to group or others (mode ${mode}); the store is for easd's user only: chmod ${/\.sqlite(-wal|-shm)?$/.test(path) ? '600' : '700'} ${path}`);
      }
    }
    // Every long-lived service is built once, in src/cli/runtime.ts (the test server uses it too).
    const runtime = await buildRuntime(
      {
        server: { maxRequestBytes: parseSize(opts.maxRequestSize), publicUrl: opts.publicUrl, trustProxy, allowPlainHttp: opts.allowPlainHttp, tls, metrics: opts.metricsListen !== undefined, protection },
        acceptedDomains: opts.acceptedDomain,
        maxMessageBytes: parseSize(opts.maxMessageSize),
        maxContactPictureBytes: parseSize(opts.maxContactPictureSize),
        maxEventsPerMessage: parseCount(opts.maxEventsPerMessage, '--max-events-per-message'),
        ...(opts.smtpRelay
          ? {
              relay: {
                url: opts.smtpRelay,
                starttls: parseStartTls(opts.smtpRelayStarttls),
                ...(opts.smtpRelayUser !== undefined ? { user: opts.smtpRelayUser, password: opts.smtpRelayPassword ?? '' } : {}),
              },
            }
          : {}),
        ...(opts.adminEmail ? { adminEmail: opts.adminEmail } : {}),
        junkRules: junkRulesFrom(opts),
        requireProvisioning: opts.provisioning !== false,
        trustStore: loadTrustStore(opts.trustStore),
      },
      { store, log },
    );
    const { app } = runtime;
    if (opts.provisioning === false) {
      log.warn('provisioning is off (--no-provisioning): devices under the built-in policy sync without a policy key and cannot be remote-wiped until they provision');
    }
    // Signals are handled from the start, so a stop during start-up also closes the store cleanly.
    let closing = false;
    let metricsListener: Awaited<ReturnType<typeof startMetricsListener>> | undefined;
    const shutdown = async (signal: string) => {
      if (closing) return;
      closing = true;
      log.info({ signal }, 'shutting down');
      await runtime.close();
      await metricsListener?.close();
      await store.close();
      process.exit(0);
    };
    process.on('SIGINT', () => void shutdown('SIGINT'));
    process.on('SIGTERM', () => void shutdown('SIGTERM'));
    await app.listen({ host, port });
    if (opts.metricsListen !== undefined) {
      const at = parseListen(opts.metricsListen);
      setBuildInfo(self.parent?.version() ?? 'unknown');
      metricsListener = await startMetricsListener(at.host, at.port, { storeCheck: () => store.writeToken(), closing: () => closing });
      process.stdout.write(`easd serves metrics on http://${at.host.includes(':') ? `[${at.host}]` : at.host}:${metricsListener.port}/metrics\n`);
    }
    if (opts.smtpRelay) {
      // Once, in the background: a slow or absent relay must not hold up the start.
      const relay = { url: opts.smtpRelay };
      const limit = parseSize(opts.maxRequestSize);
      void probeRelaySize(relay, hostname()).then((size) => {
        const notice = relaySizeNotice(size, limit);
        log[notice.level]({ relay: new URL(relay.url).host, ...notice.fields }, notice.msg);
      });
    }
    for (const [protocol, where] of [['lmtp', opts.lmtp], ['smtp', opts.smtp]] as const) {
      if (!where) continue;
      const at = parseListen(where);
      const bound = await runtime.listenMail(protocol, at.host, at.port);
      process.stdout.write(`easd takes mail in over ${protocol.toUpperCase()} on ${at.host}:${bound}\n`);
    }
    // Only once listening: a start that fails must not leave a demo user whose password nobody saw.
    // Only for the quick start: never on a server others can reach or a shared database.
    const notDemo = notQuickStart({ postgres, tls: tls !== undefined, host, trustProxy: trustProxy !== false });
    let demoPassword: string | undefined;
    if (opts.demoUser && (await store.countUsers()) === 0) {
      if (notDemo) log.info(`no demo user on an empty store: ${notDemo}; add users with "easd user add"`);
      else demoPassword = await ensureDemoUser(store);
    }
    const address = app.server.address();
    const boundPort = typeof address === 'object' && address ? address.port : port;
    const url = `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
    log.info(
      {
        url,
        backend: postgres ? 'postgres' : 'sqlite',
        allowPlainHttp: opts.allowPlainHttp,
        trustProxy,
        lockout: protection.lockout?.enabled ?? true,
        throttle: protection.throttle?.enabled ?? true,
        loopDetection: protection.loops?.enabled ?? true,
        junkFiling: opts.junkFiling !== false,
        provisioning: opts.provisioning !== false,
      },
      'easd listening',
    );
    process.stdout.write(`easd is listening on ${url}/Microsoft-Server-ActiveSync\n`);
    if (demoPassword) {
      // A plain line for the person at the console, never a field of a JSON log line.
      process.stdout.write(`Created ${DEMO_USER} with password ${demoPassword} (shown only this once).\n`);
    }
  });
}

/**
 * `--trust-proxy` as Fastify takes it: absent -> nobody; given without addresses (or with an
 * on/off value, booleans.ts) -> loopback, the usual reverse proxy on the same host, or nobody;
 * otherwise the listed addresses and CIDRs (or proxy-addr's loopback, linklocal, uniquelocal).
 * Anything else is an error naming `what`. Trusting every address would let any client claim it
 * came over HTTPS or from another address.
 */
export function trustedProxies(v: boolean | string | undefined, what = '--trust-proxy'): false | string {
  if (v === undefined || v === false) return false;
  if (v === true) return 'loopback';
  if (v.trim() === '') return false;
  const b = booleanWord(v);
  if (b !== undefined) return b ? 'loopback' : false;
  const list = v.split(',').map((a) => a.trim()).filter(Boolean);
  const bad = list.find((a) => !isProxyAddress(a));
  if (bad !== undefined) {
    throw new Error(`${what} must be one of ${BOOLEAN_VALUES} (any case), or addresses and CIDRs separated by commas, not "${v}" ("${bad}" is not an address)`);
  }
  return list.join(',');
}

function isProxyAddress(a: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(a)) return true;
  const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(a);
  if (!m) return false;
  const family = isIP(m[1]!);
  if (family === 0) return false;
  return m[2] === undefined || Number(m[2]) <= (family === 4 ? 32 : 128);
}

/**
 * The certificate and key, checked before the listener is built: an unreadable file, a file that
 * is not PEM, or a key that does not belong to the certificate is told with the file and the
 * reason, where OpenSSL alone says only "no start line".
 */
export function readTls(certFile: string, keyFile: string): { cert: Buffer; key: Buffer } {
  const read = (option: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`${option} ${file}: ${(err as Error).message}`);
    }
  };
  const cert = read('--tls-cert', certFile);
  const key = read('--tls-key', keyFile);
  try {
    new X509Certificate(cert);
  } catch (err) {
    throw new Error(`--tls-cert ${certFile}: not a PEM certificate (${(err as Error).message})`);
  }
  try {
    createPrivateKey(key);
  } catch (err) {
    throw new Error(`--tls-key ${keyFile}: not a PEM private key, or one with a passphrase (${(err as Error).message})`);
  }
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new Error(`--tls-cert ${certFile} and --tls-key ${keyFile} do not go together: ${(err as Error).message}`);
  }
  return { cert, key };
}
