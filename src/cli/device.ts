import { accountLockout, lockoutText } from './lockout.ts';
import type { Command } from 'commander';
import { DEVICE_INFORMATION } from '../devices/device-information.ts';
import { parseDeviceState, type AccessLevel } from '../devices/device-state.ts';
import { DeviceManager } from '../devices/manager.ts';
import { StoreMailboxProvider } from '../store/store-mailbox.ts';
import type { Device, Store, User } from '../store/types.ts';
import type { DeviceProtection } from '../store/protection-types.ts';
import { addStoreOptions, withStore, type StoreCliOptions } from './options.ts';

interface DeviceOptions extends StoreCliOptions {
  user?: string;
  accountOnly?: boolean;
}

/** The device manager of an admin command, over the store it opened (its notices go to that store's mailboxes). */
function managerOf(store: Store): DeviceManager {
  return new DeviceManager(store, new StoreMailboxProvider(store));
}

/** The device of that id (of that user, or the only user that has one); a clear error otherwise. */
export async function findDevice(store: Store, deviceId: string, email?: string): Promise<{ user: User; device: Device }> {
  if (email) {
    const user = await store.getUserByEmail(email);
    if (!user) throw new Error(`no user ${email}`);
    const device = await store.getDevice(user.id, deviceId);
    if (!device) throw new Error(`${user.email} has no device ${deviceId}`);
    return { user, device };
  }
  const matches = (await store.listDevices()).filter((d) => d.deviceId === deviceId);
  if (matches.length === 0) throw new Error(`no device ${deviceId}`);
  if (matches.length > 1) throw new Error(`device ${deviceId} belongs to several users: name one with --user`);
  const user = await store.getUserById(matches[0]!.userId);
  if (!user) throw new Error(`no device ${deviceId}`);
  return { user, device: matches[0]! };
}

const out = (line: string) => process.stdout.write(line + '\n');

function wipeText(s: ReturnType<typeof parseDeviceState>): string {
  const w = s.wipe;
  if (!w) return 'none';
  const what = w.kind === 'account' ? 'account-only wipe' : 'wipe';
  if (w.acknowledgedAt) return `${what} ${w.ackStatus === 1 ? 'done' : 'failed'} (requested ${w.requestedAt}, sent ${w.sentAt ?? '-'}, acknowledged ${w.acknowledgedAt})`;
  return `${what} pending (requested ${w.requestedAt}${w.sentAt ? `, sent ${w.sentAt}` : ''})`;
}

/** What the admin should look at: refusals (kb-2.1) and ignored refreshes (kb-2.12). */
function flags(s: ReturnType<typeof parseDeviceState>): string[] {
  const out: string[] = [];
  if (s.refusedStatus !== null) out.push(`cannot-comply:${s.refusedStatus}`);
  else if (s.complianceReason) out.push('partial-compliance');
  if (s.ignoresRefreshSince) out.push('ignores-refresh');
  return out;
}

/** Throttle blocks and loop flags (src/devices/throttle.ts, loop-detector.ts) for `device list`. */
function protectionFlags(p: DeviceProtection | undefined): string[] {
  const out: string[] = [];
  if (p?.throttledUntil && p.throttledUntil > new Date()) out.push('throttled');
  if (p && p.loops > 0) out.push('loops');
  return out;
}

/** The `device show` rows of throttling and loop detection. */
function protectionRows(p: DeviceProtection | null): Array<[string, string]> {
  if (!p) return [['throttled', 'never'], ['loops', 'none flagged']];
  const now = new Date();
  const throttled =
    p.throttles === 0
      ? 'never'
      : `${p.throttles} time(s), last ${p.lastThrottleAt?.toISOString() ?? '-'} (${p.lastThrottleReason ?? '-'})${p.throttledUntil && p.throttledUntil > now ? `, BLOCKED until ${p.throttledUntil.toISOString()}` : ''}`;
  const loops = p.loops === 0 ? 'none flagged' : `FLAGGED ${p.loops} time(s), last ${p.lastLoopAt?.toISOString() ?? '-'} (${p.lastLoopCommand ?? '-'})`;
  return [
    ['throttled', throttled],
    ['loops', loops],
  ];
}

export function registerDevice(program: Command): void {
  const device = program.command('device').description('device partnerships: details, access, remote wipe');

  addStoreOptions(device.command('list').description('list device partnerships').option('--user <email>', "only this user's devices")).action(
    async (opts: DeviceOptions) =>
      withStore(opts, async (store) => {
        let userId: string | undefined;
        if (opts.user) {
          const u = await store.getUserByEmail(opts.user);
          if (!u) throw new Error(`no user ${opts.user}`);
          userId = u.id;
        }
        const users = new Map((await store.listUsers()).map((u) => [u.id, u.email]));
        const states = new Map((await store.devices.listDeviceStates(userId)).map((s) => [`${s.userId}\0${s.deviceId}`, parseDeviceState(s.data)]));
        const guarded = new Map((await store.protection.list(userId)).map((p) => [`${p.userId}\0${p.deviceId}`, p]));
        out(['USER', 'DEVICE', 'TYPE', 'ACCESS', 'PROVISIONED', 'WIPE', 'LAST SYNC', 'FLAGS'].join('\t'));
        for (const d of await store.listDevices(userId)) {
          const s = states.get(`${d.userId}\0${d.deviceId}`) ?? parseDeviceState(null);
          out(
            [
              users.get(d.userId) ?? d.userId,
              d.deviceId,
              d.deviceType,
              s.accessOverride ?? s.accessState ?? 'allow',
              s.provisionedAt ?? '-',
              s.wipe ? `${s.wipe.kind}:${s.wipe.acknowledgedAt ? 'done' : 'pending'}` : '-',
              d.lastSeen.toISOString(),
              [...flags(s), ...protectionFlags(guarded.get(`${d.userId}\0${d.deviceId}`))].join(',') || '-',
            ].join('\t'),
          );
        }
      }),
  );

  addStoreOptions(device.command('show <deviceId>').description('show one partnership in detail').option('--user <email>', 'the owner')).action(
    async (deviceId: string, opts: DeviceOptions) =>
      withStore(opts, async (store) => {
        const { user, device: d } = await findDevice(store, deviceId, opts.user);
        const s = parseDeviceState((await store.devices.getDeviceState(user.id, d.deviceId))?.data);
        const info = (await store.getDeviceData(user.id, d.deviceId, DEVICE_INFORMATION)) ?? {};
        const policy = await managerOf(store).policyFor(user);
        const field = (k: string) => (typeof info[k] === 'string' ? (info[k] as string) : '-');
        const rows: Array<[string, string]> = [
          ['user', user.email],
          ['device id', d.deviceId],
          ['device type', d.deviceType],
          ['user agent', d.userAgent ?? '-'],
          ['protocol version', d.protocolVersion ?? '-'],
          ['model', field('Model')],
          ['os', field('OS')],
          ['imei', field('IMEI')],
          ['friendly name', field('FriendlyName')],
          ['phone number', field('PhoneNumber')],
          ['mobile operator', field('MobileOperator')],
          ['first sync', d.firstSeen.toISOString()],
          ['last sync', d.lastSeen.toISOString()],
          ['policy', `${policy.name} (revision ${policy.revision})${policy.settings.RequireProvisioning ? '' : ', provisioning not required'}`],
          ['policy key', s.policyKey ?? '-'],
          ['provisioned policy', s.policyName ? `${s.policyName} (revision ${s.policyRevision})` : '-'],
          ['provisioned', s.provisionedAt ?? '-'],
          ['last provision', s.lastProvisionAt ?? '-'],
          ['compliance', s.refusedStatus ? `refused (status ${s.refusedStatus}): ${s.complianceReason ?? ''}` : (s.complianceReason ?? (s.ackStatus === 1 ? 'compliant' : '-'))],
          ['policy refresh', s.ignoresRefreshSince ? `IGNORED since ${s.ignoresRefreshSince} (${s.refreshRequests} refresh answers)` : `${s.refreshRequests} refresh answers`],
          ['access', s.accessOverride ? `${s.accessOverride} (set by the administrator)` : (s.accessState ?? 'allow (not evaluated yet)')],
          ['access reason', s.accessOverride ? 'set by the administrator' : (s.accessReason ?? '-')],
          ['resets', String(d.syncResets)],
          ['wipe', wipeText(s)],
          ...protectionRows(await store.protection.get(user.id, d.deviceId)),
          ['account lockout', lockoutText(await accountLockout(store, user.email))],
        ];
        for (const [k, v] of rows) out(`${k.padEnd(20)}${v}`);
      }),
  );

  const access = (level: AccessLevel, verb: string) =>
    addStoreOptions(device.command(`${level} <deviceId>`).description(`${verb} a device (wins over access rules)`).option('--user <email>', 'the owner')).action(
      async (deviceId: string, opts: DeviceOptions) =>
        withStore(opts, async (store) => {
          const { user, device: d } = await findDevice(store, deviceId, opts.user);
          await managerOf(store).setAccess(user.id, d.deviceId, level);
          out(`${d.deviceId} of ${user.email}: ${level}`);
        }),
    );
  access('allow', 'allow');
  access('block', 'block');
  access('quarantine', 'quarantine');

  addStoreOptions(
    device
      .command('wipe <deviceId>')
      .description('remote wipe at the next request of the device (account-only: only the account data, 16.1 devices)')
      .option('--user <email>', 'the owner')
      .option('--account-only', 'remove only the account and its data (AccountOnlyRemoteWipe, protocol 16.1)'),
  ).action(async (deviceId: string, opts: DeviceOptions) =>
    withStore(opts, async (store) => {
      const { user, device: d } = await findDevice(store, deviceId, opts.user);
      const kind = opts.accountOnly ? 'account' : 'full';
      await managerOf(store).requestWipe(user.id, d.deviceId, kind);
      out(`${kind === 'account' ? 'account-only wipe' : 'wipe'} of ${d.deviceId} (${user.email}) requested; it is sent at the device's next request`);
      if (kind === 'account' && d.protocolVersion !== '16.1') {
        process.stderr.write(`easd: ${d.deviceId} last used protocol ${d.protocolVersion ?? 'unknown'}; an account-only wipe needs 16.1, so until then the device is refused\n`);
      }
    }),
  );

  addStoreOptions(
    device.command('remove <deviceId>').description('end a partnership: the device and its state are deleted (a wiped device may then sync again)').option('--user <email>', 'the owner'),
  ).action(async (deviceId: string, opts: DeviceOptions) =>
    withStore(opts, async (store) => {
      const { user, device: d } = await findDevice(store, deviceId, opts.user);
      await managerOf(store).removeDevice(user.id, d.deviceId);
      out(`removed ${d.deviceId} of ${user.email}`);
    }),
  );
}
