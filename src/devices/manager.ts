/**
 * The device manager: the one place that reads and writes device management state for the
 * server (the provisioning gate, Provision) and the admin tools.
 *
 * The gate asks `view` on every request, so a view (the device's effective policy, its state and
 * its access decision) is cached per partnership for `cacheTtlMs` (default 5 s). Writes made
 * through this manager drop the cached view at once; changes made by another process (the `easd`
 * admin commands against the same store) reach a running server within the cache time.
 */
import type { StoredAccessRule } from '../ports/devices.ts';
import type { MailboxProvider } from '../ports/mailbox.ts';
import type { Device, JsonObject } from '../ports/types.ts';
import type { AccountsStore, DeviceStateStore, ServerStore } from '../ports/store.ts';
import { decideAccess, DEFAULT_ACCESS_SETTING, factsOf, type AccessDecision } from './access.ts';
import { DEVICE_INFORMATION } from './device-information.ts';
import { isAccessLevel, parseDeviceState, serializeDeviceState, type AccessLevel, type DeviceState, type WipeKind } from './device-state.ts';
import { BUILTIN_POLICY, BUILTIN_POLICY_WITHOUT_PROVISIONING, resolvePolicy, type Policy } from './policy.ts';
import { QUARANTINE_NOTICE_FIELD, restartsSync } from './quarantine.ts';

/** The setting (ServerStore.devices.getSetting) naming the policy of users without an assigned one. */
export const DEFAULT_POLICY_SETTING = 'defaultPolicy';
/** Settings `domainPolicy:<domain>` name the policy of a mail domain's users (a group). */
export const DOMAIN_POLICY_PREFIX = 'domainPolicy:';

export interface DeviceView {
  policy: Policy;
  state: DeviceState;
  access: AccessDecision;
  loadedAt: number;
}

export interface DeviceManagerOptions {
  /** Address of the administrator told of quarantined devices (delivered locally if a user). */
  adminEmail?: string;
  /** How long a device's view is reused by the gate; 0 reads it on every request. */
  cacheTtlMs?: number;
  now?: () => Date;
  /**
   * Whether the built-in policy (users with no assigned, domain or default policy) requires
   * provisioning. Default true; false only by the administrator's explicit choice
   * (`easd serve --no-provisioning`).
   */
  requireProvisioning?: boolean;
  /** Where notices and failures to deliver them are reported. */
  log?: { warn: (obj: object, msg: string) => void; info: (obj: object, msg: string) => void };
}

interface Shared {
  loadedAt: number;
  policies: Map<string, Policy>;
  rules: StoredAccessRule[];
  defaultPolicy: string | null;
  domainPolicies: Map<string, string>;
  defaultAccess: AccessLevel;
}

const MAX_CACHED = 100_000;
const INBOX_TYPE = 2;

/**
 * What the manager reads and writes: policies, rules and device management state (server-wide),
 * the partnerships and their sync states, and the admin's account (for quarantine notices).
 */
export type DeviceManagerStores = Pick<ServerStore, 'devices'> &
  Pick<DeviceStateStore, 'getDevice' | 'getDeviceData' | 'upsertDevice' | 'deleteDevice' | 'deleteSyncStates'> &
  Pick<AccountsStore, 'getUserByEmail'>;

export class DeviceManager {
  readonly #cache = new Map<string, DeviceView>();
  #sharedCache: Shared | undefined;
  readonly #loading = new Map<string, { promise: Promise<DeviceView>; token: symbol }>();
  readonly #ttl: number;
  readonly #now: () => Date;

  /**
   * `mailboxes`: where notices go (the device's user's Inbox and the admin's), outside any request
   * of theirs.
   */
  constructor(
    private readonly store: DeviceManagerStores,
    private readonly mailboxes: MailboxProvider,
    private readonly opts: DeviceManagerOptions = {},
  ) {
    this.#ttl = opts.cacheTtlMs ?? 5_000;
    this.#now = opts.now ?? (() => new Date());
  }

  now(): Date {
    return this.#now();
  }

  /**
   * What every device shares (policies, rules, the default policy and access level), read once
   * per cache time for all devices instead of once per device.
   */
  async #shared(): Promise<Shared> {
    const nowMs = this.#now().getTime();
    if (this.#sharedCache && nowMs - this.#sharedCache.loadedAt < this.#ttl) return this.#sharedCache;
    const devices = this.store.devices;
    const [policies, rules, defaultPolicy, defaultAccess, domainPolicies] = await Promise.all([
      devices.listPolicies(),
      devices.listRules(),
      devices.getSetting(DEFAULT_POLICY_SETTING),
      devices.getSetting(DEFAULT_ACCESS_SETTING),
      devices.listSettings(DOMAIN_POLICY_PREFIX),
    ]);
    this.#sharedCache = {
      loadedAt: nowMs,
      policies: new Map(policies.map((p) => [p.name, resolvePolicy(p.name, p.revision, p.settings)])),
      rules,
      defaultPolicy,
      domainPolicies: new Map(domainPolicies.map((d) => [d.name.slice(DOMAIN_POLICY_PREFIX.length), d.value])),
      defaultAccess: isAccessLevel(defaultAccess) ? defaultAccess : 'allow',
    };
    return this.#sharedCache;
  }

  /**
   * The policy that applies to a user: the one assigned to the user, else the one of the user's
   * mail domain, else the default one, else the built-in one (BUILTIN_POLICY, or
   * BUILTIN_POLICY_WITHOUT_PROVISIONING when provisioning was turned off).
   */
  async policyFor(user: { id: string; email: string }): Promise<Policy> {
    const [shared, assigned] = await Promise.all([this.#shared(), this.store.devices.getAssignedPolicy(user.id)]);
    return this.#resolve(shared, assigned, user.email);
  }

  #resolve(shared: Shared, assigned: string | null, email: string): Policy {
    const domain = email.slice(email.lastIndexOf('@') + 1).toLowerCase();
    const name = assigned ?? shared.domainPolicies.get(domain) ?? shared.defaultPolicy;
    return (name !== null ? shared.policies.get(name) : undefined) ?? (this.opts.requireProvisioning === false ? BUILTIN_POLICY_WITHOUT_PROVISIONING : BUILTIN_POLICY);
  }

  /**
   * The device's policy, state and access, from the cache when fresh. Loading a view also records
   * a changed access decision, and tells the user and the admin when the device becomes quarantined.
   */
  async view(user: { id: string; email: string }, device: Device): Promise<DeviceView> {
    const key = cacheKey(user.id, device.deviceId);
    const cached = this.#cache.get(key);
    const nowMs = this.#now().getTime();
    if (cached && nowMs - cached.loadedAt < this.#ttl) return cached;
    // Concurrent requests of one device share one load (and so one quarantine notice).
    const loading = this.#loading.get(key);
    if (loading) return loading.promise;
    const token = Symbol(key);
    const promise = this.#load(user, device, key, nowMs, token).finally(() => {
      if (this.#loading.get(key)?.token === token) this.#loading.delete(key);
    });
    this.#loading.set(key, { promise, token });
    return promise;
  }

  async #load(user: { id: string; email: string }, device: Device, key: string, nowMs: number, token: symbol): Promise<DeviceView> {
    const devices = this.store.devices;
    const [shared, assigned, stored, info, row] = await Promise.all([
      this.#shared(),
      devices.getAssignedPolicy(user.id),
      devices.getDeviceState(user.id, device.deviceId),
      this.store.getDeviceData(user.id, device.deviceId, DEVICE_INFORMATION),
      this.store.getDevice(user.id, device.deviceId),
    ]);
    // The admin removed the partnership while the HTTP layer still remembered the device: it
    // starts again from nothing, so its row is written again before a command needs it.
    if (!row) {
      await this.store.upsertDevice({
        userId: user.id,
        deviceId: device.deviceId,
        deviceType: device.deviceType,
        userAgent: device.userAgent,
        protocolVersion: device.protocolVersion,
      });
    }
    let state = parseDeviceState(stored?.data);
    const policy = this.#resolve(shared, assigned, user.email);
    const access = decideAccess(factsOf(device, info), state.accessOverride, shared.rules, shared.defaultAccess);
    if (access.level !== state.accessState || access.reason !== state.accessReason) {
      // Into or out of quarantine the device's view of the mailbox changes (quarantine.ts): its
      // sync states are dropped so it resyncs once from SyncKey 0 (FolderSync Status 9, Sync 3).
      if (restartsSync(state.accessState, access.level)) await this.store.deleteSyncStates(user.id, device.deviceId);
      const quarantinedNow = access.level === 'quarantine' && state.quarantineNotifiedAt === null;
      state = {
        ...state,
        accessState: access.level,
        accessReason: access.reason,
        quarantineNotifiedAt: access.level === 'quarantine' ? (state.quarantineNotifiedAt ?? (quarantinedNow ? this.#now().toISOString() : null)) : null,
      };
      await devices.putDeviceState(user.id, device.deviceId, serializeDeviceState(state));
      if (quarantinedNow) await this.#notifyQuarantine(user, device, access);
    }
    const view: DeviceView = { policy, state, access, loadedAt: nowMs };
    // A load that an invalidation overtook may hold old state: it answers its own request only.
    if (this.#loading.get(key)?.token === token) {
      if (this.#cache.size >= MAX_CACHED) this.#cache.clear();
      this.#cache.set(key, view);
    }
    return view;
  }

  invalidate(userId: string, deviceId: string): void {
    const key = cacheKey(userId, deviceId);
    this.#cache.delete(key);
    this.#loading.delete(key);
  }

  /** Drops every cached view and the shared policies and rules (after an admin change in this process). */
  invalidateAll(): void {
    this.#cache.clear();
    this.#loading.clear();
    this.#sharedCache = undefined;
  }

  async state(userId: string, deviceId: string): Promise<DeviceState> {
    return parseDeviceState((await this.store.devices.getDeviceState(userId, deviceId))?.data);
  }

  /** Read, change and write a device's state; the cached view is dropped. Throws 'not_found' for an unknown device. */
  async update(userId: string, deviceId: string, change: (s: DeviceState) => DeviceState): Promise<DeviceState> {
    const next = change(await this.state(userId, deviceId));
    await this.store.devices.putDeviceState(userId, deviceId, serializeDeviceState(next));
    this.invalidate(userId, deviceId);
    return next;
  }

  // ----------------------------------------------------------- admin actions

  /** The admin's access decision for one device (null returns it to the rules). */
  async setAccess(userId: string, deviceId: string, level: AccessLevel | null): Promise<DeviceState> {
    await this.#requireDevice(userId, deviceId);
    return this.update(userId, deviceId, (s) => ({
      ...s,
      accessOverride: level,
      // A released device that was flagged for ignoring refreshes starts again with a clean count.
      ...(level === 'allow' ? { ignoresRefreshSince: null, refreshRequests: 0 } : {}),
    }));
  }

  /** Asks for a remote wipe (full, or account-only for 16.1 devices), delivered at the device's next request. */
  async requestWipe(userId: string, deviceId: string, kind: WipeKind): Promise<DeviceState> {
    await this.#requireDevice(userId, deviceId);
    const at = this.#now().toISOString();
    return this.update(userId, deviceId, (s) => ({
      ...s,
      wipe: { kind, requestedAt: at, sentAt: null, acknowledgedAt: null, ackStatus: null },
    }));
  }

  /** Ends the partnership: the device, its state and sync states go; it starts from nothing next time. */
  async removeDevice(userId: string, deviceId: string): Promise<void> {
    await this.#requireDevice(userId, deviceId);
    await this.store.deleteDevice(userId, deviceId);
    this.invalidate(userId, deviceId);
  }

  async #requireDevice(userId: string, deviceId: string): Promise<Device> {
    const d = await this.store.getDevice(userId, deviceId);
    if (!d) throw new Error(`no device ${deviceId} for that user`);
    return d;
  }

  // ------------------------------------------------------------- notices

  async #notifyQuarantine(user: { id: string; email: string }, device: Device, access: AccessDecision): Promise<void> {
    const subject = `Your device ${device.deviceId} is quarantined`;
    const body = [
      `Your mobile device is temporarily blocked from synchronizing with your mailbox because it is quarantined.`,
      `No action is needed from you: content is downloaded as soon as an administrator grants the device access.`,
      ``,
      `Device ID: ${device.deviceId}`,
      `Device type: ${device.deviceType}`,
      `User agent: ${device.userAgent ?? ''}`,
      `Reason: ${access.reason}`,
    ].join('\n');
    const from = this.opts.adminEmail ?? 'postmaster@localhost';
    // Marked with the device id: the one item the quarantined device is shown (quarantine.ts).
    await this.#deliver(user.id, { subject, from, to: user.email, dateReceived: this.#now().toISOString(), body: { text: body }, [QUARANTINE_NOTICE_FIELD]: device.deviceId });
    if (this.opts.adminEmail) {
      const admin = await this.store.getUserByEmail(this.opts.adminEmail);
      if (admin) {
        await this.#deliver(admin.id, {
          subject: `Device ${device.deviceId} of ${user.email} is quarantined`,
          from,
          to: this.opts.adminEmail,
          dateReceived: this.#now().toISOString(),
          body: { text: `${body}\nUser: ${user.email}\n\nRelease it with: easd device allow ${device.deviceId} --user ${user.email}\n` },
        });
      } else {
        this.opts.log?.warn({ adminEmail: this.opts.adminEmail }, 'admin address is not a local user: quarantine notice not delivered to the admin');
      }
    }
    this.opts.log?.info({ user: user.email, deviceId: device.deviceId, reason: access.reason }, 'device quarantined');
  }

  /** Puts a message in the user's Inbox (created with the default folders when the mailbox is new). */
  async #deliver(userId: string, data: JsonObject): Promise<void> {
    try {
      const mailbox = this.mailboxes.open(userId);
      let inbox = (await mailbox.listFolders()).find((f) => f.type === INBOX_TYPE);
      if (!inbox) {
        await mailbox.ensureDefaultFolders();
        inbox = (await mailbox.listFolders()).find((f) => f.type === INBOX_TYPE);
      }
      if (!inbox) throw new Error('mailbox has no Inbox');
      await mailbox.putItem({ folderId: inbox.id, class: 'Email', data: { read: false, ...data } });
    } catch (err) {
      // A notice that cannot be delivered must not keep the device from getting its answer.
      this.opts.log?.warn({ err, userId }, 'could not deliver a device notice');
    }
  }
}

function cacheKey(userId: string, deviceId: string): string {
  return `${userId}\0${deviceId}`;
}

