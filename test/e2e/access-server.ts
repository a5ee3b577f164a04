/**
 * The server of the access-rule scenarios (device-access, device-quarantine): Alice and an admin
 * who is told of quarantines, a DeviceManager without a view cache (so a rule applies to the
 * next request), and a reset of rules and the default access level between tests.
 */
import { DEFAULT_ACCESS_SETTING } from '../../src/devices/access.ts';
import { DeviceManager } from '../../src/devices/manager.ts';
import type { Store } from '../../src/store/types.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

export const ALICE = { email: 'alice@example.com', password: 'alice-password-1' };
export const ADMIN = { email: 'admin@example.com', password: 'admin-password-1' };

export async function startAccessServer(backend: 'sqlite' | 'postgres' | 'memory'): Promise<{ server: TestServer; manager: DeviceManager }> {
  let manager: DeviceManager | undefined;
  const server = await startTestServer({
    users: [ALICE, ADMIN],
    backend,
    logLevel: 'warn',
    services: (store, _, mailboxes) => ({ devices: (manager = new DeviceManager(store, mailboxes, { adminEmail: ADMIN.email, cacheTtlMs: 0, requireProvisioning: false })) }),
  });
  return { server, manager: manager! };
}

/** No rules and no default access level: every device allowed again. */
export async function clearAccessRules(store: Store): Promise<void> {
  for (const r of await store.devices.listRules()) await store.devices.removeRule(r.id);
  await store.devices.putSetting(DEFAULT_ACCESS_SETTING, null);
}
