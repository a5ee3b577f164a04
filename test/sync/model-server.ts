/**
 * The server of a model test: a real easd server on `backend` with throttling and loop detection
 * off (they would answer 503 to devices syncing, pinging and FolderSyncing in a loop), and the
 * hash of the password the test's users are created with.
 */
import { hashPassword } from '../../src/auth/password.ts';
import { PROTECTION_OFF } from '../../src/devices/protection.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

export async function startModelServer(backend: 'sqlite' | 'postgres', password: string): Promise<{ srv: TestServer; passwordHash: string }> {
  const srv = await startTestServer({ backend, logLevel: 'error', config: { protection: PROTECTION_OFF } });
  return { srv, passwordHash: await hashPassword(password) };
}
