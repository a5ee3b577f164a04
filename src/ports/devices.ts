/**
 * Persistence of device management: named policies and their assignment to users, global
 * device settings (the default policy, the default access level), access rules, and one state
 * record per device partnership (provisioning, access, wipe). The store keeps policy settings
 * and device states as opaque JSON: what the settings mean is src/devices' business.
 *
 * A device state hangs off the devices row (ON DELETE CASCADE), so removing a partnership
 * (Store.deleteDevice) or its user removes its state too.
 */
import type { JsonObject } from './types.ts';

export interface StoredPolicy {
  /** Unique, case-sensitive. */
  name: string;
  /** Policy settings as src/devices/policy.ts reads them. */
  settings: JsonObject;
  /** Starts at 1 and grows by one with every putPolicy of this name. */
  revision: number;
  updatedAt: Date;
}

export interface StoredAccessRule {
  id: string;
  /** What the rule matches on (e.g. 'deviceType', 'model', 'os', 'userAgent'). */
  field: string;
  /** Pattern matched against that field (meaning defined by src/devices/access.ts). */
  pattern: string;
  /** The access level the rule gives (e.g. 'allow', 'block', 'quarantine'). */
  access: string;
  createdAt: Date;
}

export interface StoredDeviceState {
  userId: string;
  deviceId: string;
  /** Opaque state (src/devices/device-state.ts). */
  data: JsonObject;
  updatedAt: Date;
}

export interface DevicesStore {
  // Policies
  /** Ordered by name. */
  listPolicies(): Promise<StoredPolicy[]>;
  getPolicy(name: string): Promise<StoredPolicy | null>;
  /** Creates the policy (revision 1) or replaces its settings (revision + 1). 'invalid' for an empty name. */
  putPolicy(name: string, settings: JsonObject): Promise<StoredPolicy>;
  /** Deletes a policy and its assignments. Throws 'not_found'. */
  deletePolicy(name: string): Promise<void>;
  /** Assigns a policy to a user, or (null) removes the assignment. 'not_found' for an unknown user or policy. */
  assignPolicy(userId: string, policyName: string | null): Promise<void>;
  /** The user's assigned policy name, or null. */
  getAssignedPolicy(userId: string): Promise<string | null>;

  // Global settings (small named values)
  getSetting(name: string): Promise<string | null>;
  /** Every setting whose name starts with `prefix`, ordered by name. */
  listSettings(prefix: string): Promise<Array<{ name: string; value: string }>>;
  /** null deletes the setting. */
  putSetting(name: string, value: string | null): Promise<void>;

  // Access rules
  /** Ordered by createdAt then id. */
  listRules(): Promise<StoredAccessRule[]>;
  addRule(rule: { field: string; pattern: string; access: string }): Promise<StoredAccessRule>;
  /** Throws 'not_found'. */
  removeRule(id: string): Promise<void>;

  // Per-device state
  getDeviceState(userId: string, deviceId: string): Promise<StoredDeviceState | null>;
  /** All device states, or one user's; ordered by userId, deviceId. */
  listDeviceStates(userId?: string): Promise<StoredDeviceState[]>;
  /** Replaces the device's state. Throws 'not_found' for an unknown device. */
  putDeviceState(userId: string, deviceId: string, data: JsonObject): Promise<StoredDeviceState>;
}
