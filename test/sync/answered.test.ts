/**
 * The record of a request's client commands kept for its retry (src/sync/answered.ts): it comes
 * back from the state's JSON as it went in (opaque bytes too), its digest tells the same request
 * from any other, and a record this code did not write is ignored (the commands are applied).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { answeredFromJson, answeredToJson, commandsDigest, type AnsweredCommands } from '../../src/sync/answered.ts';
import { readState, stateToJson } from '../../src/sync/collection-state.ts';
import type { ClientCommand } from '../../src/sync/sync-request.ts';
import { el } from '../../src/wbxml/index.ts';

const record: AnsweredCommands = {
  digest: 'd1',
  responses: [[el('AirSync', 'Add', el('AirSync', 'ClientId', 'c1'), el('AirSync', 'Status', 1), el('AirSync', 'ApplicationData', el('AirSyncBase', 'X', new Uint8Array([0, 1, 255]))))], null, []],
  touched: { a: 5, b: -1 },
  held: { add: ['a'], remove: ['b'] },
  echo: ['e'],
  refused: { e: 'x@3' },
};

it('a record comes back from the collection state as it was kept, bytes included', () => {
  const json = JSON.parse(JSON.stringify(stateToJson({ modseq: 3, options: {}, heldKept: true, answered: record })));
  assert.deepEqual(readState(json).answered, record);
  assert.deepEqual(answeredFromJson(answeredToJson(record)), record);
  assert.equal('answered' in readState(stateToJson({ modseq: 3, options: {}, heldKept: true })), false, 'none kept, none read');
});

it('a record this code did not write is ignored', () => {
  for (const bad of [null, 'x', [], { digest: 1, responses: [] }, { digest: 'd', responses: [[{ ns: 'AirSync' }]] }]) assert.equal(answeredFromJson(bad), undefined, JSON.stringify(bad));
});

it('the digest is equal exactly for the same commands and DeletesAsMoves', () => {
  const del: ClientCommand[] = [{ kind: 'Delete', serverId: 's1' }];
  const bytes = (b: number): ClientCommand[] => [{ kind: 'Change', serverId: 's1', appData: el('AirSync', 'ApplicationData', new Uint8Array([b])) }];
  assert.equal(commandsDigest(del, true), commandsDigest([{ kind: 'Delete', serverId: 's1' }], true));
  assert.notEqual(commandsDigest(del, true), commandsDigest(del, false), 'DeletesAsMoves off is another request');
  assert.notEqual(commandsDigest(del, true), commandsDigest([{ kind: 'Delete', serverId: 's2' }], true));
  assert.notEqual(commandsDigest(bytes(1), true), commandsDigest(bytes(2), true), 'opaque data counts');
  assert.notEqual(commandsDigest([...del, ...del], true), commandsDigest(del, true));
});
