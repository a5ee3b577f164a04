/**
 * The hierarchy commands when the store fails (the database is down): Status 6, no new SyncKey.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { folderCreate } from '../../src/commands/folder-create.ts';
import { folderDelete } from '../../src/commands/folder-delete.ts';
import { folderUpdate } from '../../src/commands/folder-update.ts';
import { folderSync } from '../../src/commands/foldersync.ts';
import type { CommandContext, CommandHandler } from '../../src/commands/types.ts';
import type { Store } from '../../src/store/types.ts';
import { child, childText, type WbxmlElement } from '../../src/wbxml/tree.ts';
import { NS, f } from './folders-harness.ts';

describe('hierarchy commands on a failing store', () => {
  /** A store whose every method throws, as when the database is down. */
  const broken = new Proxy({} as Store, {
    get: () => async () => {
      throw new Error('database is down');
    },
  });
  const ctx = (request: WbxmlElement): CommandContext =>
    ({
      request,
      store: broken,
      user: { id: 'u1', email: 'a@example.com' },
      device: { userId: 'u1', deviceId: 'D1' },
      log: pino({ level: 'silent' }),
    }) as unknown as CommandContext;
  const key = '{11111111-1111-1111-1111-111111111111}1';
  const cases: Array<[string, CommandHandler, WbxmlElement]> = [
    ['FolderSync 0', folderSync, f('FolderSync', f('SyncKey', '0'))],
    ['FolderSync', folderSync, f('FolderSync', f('SyncKey', key))],
    ['FolderCreate', folderCreate, f('FolderCreate', f('SyncKey', key), f('ParentId', '0'), f('DisplayName', 'A'), f('Type', '12'))],
    ['FolderUpdate', folderUpdate, f('FolderUpdate', f('SyncKey', key), f('ServerId', 'x'), f('ParentId', '0'), f('DisplayName', 'A'))],
    ['FolderDelete', folderDelete, f('FolderDelete', f('SyncKey', key), f('ServerId', 'x'))],
  ];
  for (const [name, handler, request] of cases) {
    it(`${name} answers Status 6 (server error)`, async () => {
      const result = await handler(ctx(request));
      assert.equal(result.easStatus, 6);
      assert.equal(childText(result.body!, 'Status', NS), '6');
      assert.equal(child(result.body!, 'SyncKey', NS), undefined);
    });
  }
});
