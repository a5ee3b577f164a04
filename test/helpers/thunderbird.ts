/**
 * A real Thunderbird for a test: installed by scripts/ensure-thunderbird.sh (Debian's package and
 * the TbSync / EAS-4-TbSync add-ons, unmodified), started headless with a fresh profile and
 * Marionette on a free loopback port, and stopped (process and profile removed) by `close()`.
 *
 *   const why = thunderbirdUnavailable();          // a reason string when it cannot run here
 *   const tb = await startThunderbird();
 *   try { await tb.marionette.execute('return 1;'); } finally { await tb.close(); }
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Marionette } from './marionette.ts';

const ENSURE = fileURLToPath(new URL('../../scripts/ensure-thunderbird.sh', import.meta.url));

let availability: string | null | undefined;

/**
 * Runs scripts/ensure-thunderbird.sh once per process (it installs what is missing and is quick
 * when all is there). Returns null when Thunderbird and both add-ons are usable, otherwise the
 * reason, for `t.skip()`.
 */
export function thunderbirdUnavailable(): string | null {
  if (availability !== undefined) return availability;
  const r = spawnSync('bash', [ENSURE], { encoding: 'utf8', timeout: 15 * 60_000 });
  if (r.status === 0) availability = null;
  else {
    const lines = `${r.stderr ?? ''}${r.error ? String(r.error) : ''}`.trim().split('\n').filter(Boolean);
    availability = `thunderbird not installable: ${lines.slice(-3).join(' / ') || `exit ${r.status}`}`;
  }
  return availability;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Profile preferences. `extensions.webextensions.remote` false runs the add-ons in the main process,
 * so chrome-context scripts can reach their pages (Thunderbird's own default until recently; the
 * add-ons are unchanged). Sideloaded add-ons from /usr/lib/thunderbird/extensions (where Debian's
 * webext-* packages put them) are enabled without a prompt. Updates, telemetry, first-run pages
 * and the default-client check are off: the test must not reach the network or wait on a dialog.
 * The calendar's own time zone is Europe/Berlin whatever the machine's is, so the times and
 * all-day midnights Thunderbird sends are the same on every machine.
 */
function userJs(port: number): string {
  const prefs: Record<string, string | number | boolean> = {
    'marionette.port': port,
    'extensions.webextensions.remote': false,
    'extensions.autoDisableScopes': 0,
    'extensions.enabledScopes': 15,
    'extensions.update.enabled': false,
    'extensions.getAddons.cache.enabled': false,
    'app.update.enabled': false,
    'app.update.auto': false,
    'app.update.disabledForTesting': true,
    'toolkit.telemetry.enabled': false,
    'toolkit.telemetry.unified': false,
    'datareporting.policy.dataSubmissionEnabled': false,
    'datareporting.healthreport.uploadEnabled': false,
    'mail.shell.checkDefaultClient': false,
    'mail.rights.override': true,
    'mailnews.start_page.enabled': false,
    'mail.provider.suppress_dialog_on_startup': true,
    'mail.spotlight.firstRunDone': true,
    'mail.winsearch.firstRunDone': true,
    'browser.shell.checkDefaultBrowser': false,
    'services.settings.server': 'http://127.0.0.1:1/',
    'network.captive-portal-service.enabled': false,
    'network.connectivity-service.enabled': false,
    'calendar.timezone.useSystemTimezone': false,
    'calendar.timezone.local': 'Europe/Berlin',
    'devtools.console.stdout.chrome': true,
    'devtools.console.stdout.content': true,
  };
  return Object.entries(prefs)
    .map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});`)
    .join('\n') + '\n';
}

export interface Thunderbird {
  marionette: Marionette;
  profile: string;
  /** Everything Thunderbird printed (stdout and stderr), for a failure message. */
  output(): string;
  close(): Promise<void>;
}

export async function startThunderbird(opts: { startTimeoutMs?: number } = {}): Promise<Thunderbird> {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'easd-tb-profile-'));
  const port = await freePort();
  await writeFile(path.join(profile, 'user.js'), userJs(port));
  let out = '';
  const child: ChildProcess = spawn(
    'thunderbird',
    ['--headless', '--marionette', '-remote-allow-system-access', '--no-remote', '--profile', profile],
    { env: { ...process.env, MOZ_HEADLESS: '1', MOZ_CRASHREPORTER_DISABLE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const keep = (b: Buffer) => {
    out = (out + b.toString('utf8')).slice(-200_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    marionette?.close();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    await rm(profile, { recursive: true, force: true });
  };
  let marionette: Marionette | undefined;
  try {
    marionette = await Marionette.connect(port, Date.now() + (opts.startTimeoutMs ?? 120_000));
    await marionette.newSession();
    await marionette.setContext('chrome');
    await marionette.setScriptTimeout(180_000);
  } catch (err) {
    await close();
    throw new Error(`thunderbird did not start: ${String(err)}\n${out.slice(-4000)}`);
  }
  return { marionette, profile, output: () => out, close };
}
