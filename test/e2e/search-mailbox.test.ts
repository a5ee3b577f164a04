/**
 * Search (Store=Mailbox and GAL) and Find (16.1) through the device simulator on SQLite and
 * PostgreSQL: hits and ranges, folder scope with DeepTraversal, ConversationId, date bounds,
 * BodyPreference in results, LongIds that SmartForward can use, statuses, and another user's
 * mail never found.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deliverMessage, type DeliveryTargets } from '../../src/mail/deliver.ts';
import { child, childText, children, el, type WbxmlElement } from '../../src/wbxml/index.ts';
import { pgSkipped } from '../helpers/db.ts';
import { ALICE, BOB, composeMail, mimeMessage, phone, startMailOut, type MailOutEnv } from '../mail-out/harness.ts';

const S = 'Search';
const F = 'Find';

async function deliver(targets: DeliveryTargets, to: string, subject: string, text: string, extra = ''): Promise<void> {
  const raw = `From: Carol <carol@outside.test>\r\nTo: ${to}\r\nSubject: ${subject}\r\n${extra}Content-Type: text/plain; charset=utf-8\r\n\r\n${text}\r\n`;
  const res = await deliverMessage(targets, { envelopeFrom: 'carol@outside.test', recipients: [to], raw: Buffer.from(raw) });
  assert.equal(res[0]!.outcome, 'delivered');
}

function mailboxSearch(query: Array<WbxmlElement | null>, options: Array<WbxmlElement | null> = []): WbxmlElement {
  return el(S, 'Search', el(S, 'Store', el(S, 'Name', 'Mailbox'), el(S, 'Query', el(S, 'And', query)), options.length ? el(S, 'Options', options) : null));
}

function storeOf(res: { wbxml?: WbxmlElement }): WbxmlElement {
  assert.equal(childText(res.wbxml!, 'Status', S), '1');
  return child(child(res.wbxml!, 'Response', S)!, 'Store', S)!;
}

function subjects(store: WbxmlElement): string[] {
  return children(store, 'Result', S)
    .map((r) => child(r, 'Properties', S))
    .filter((p): p is WbxmlElement => p !== undefined)
    .map((p) => childText(p, 'Subject', 'Email')!);
}

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`Search and Find on ${backend}`, { skip: backend === 'postgres' && pgSkipped() }, () => {
    let env: MailOutEnv;
    before(async () => {
      env = await startMailOut({ backend, relay: true });
      const alice = phone(env.srv, ALICE);
      await alice.folderSync();
      const bob = phone(env.srv, BOB, 'BOBPHONE');
      await bob.folderSync();
      const store = env.srv.store;
      const targets = env.srv.runtime.deliveryTargets;
      for (let i = 1; i <= 5; i++) await deliver(targets, ALICE.email, `Budget review ${i}`, `Numbers for quarter ${i}`);
      await deliver(targets, ALICE.email, 'Team lunch', 'Pizza at the café', 'Thread-Index: AQHZ+hzHqQ0vdD9rSkiMiS4Fdu3mRA==\r\n');
      await deliver(targets, BOB.email, 'Budget secret', 'Bob only');
      // A subfolder of the Inbox with one budget message moved into it.
      const a = (await store.getUserByEmail(ALICE.email))!;
      const inbox = (await store.listFolders(a.id)).find((f) => f.type === 2)!;
      const sub = await store.createFolder({ userId: a.id, parentId: inbox.id, displayName: 'Archive', type: 12, serverId: 'archive' });
      const items = (await store.listChangesSince(a.id, inbox.id, 0, 100)).filter((i) => i.data.subject === 'Budget review 1');
      await store.moveItem(a.id, items[0]!.id, sub.id);
    });
    after(async () => {
      await env.close();
    });

    it('FreeText finds the user\'s mail, newest first, in ranges with Total; never another user\'s', async () => {
      const alice = phone(env.srv, ALICE);
      const all = storeOf(await alice.client.post('Search', mailboxSearch([el('AirSync', 'Class', 'Email'), el(S, 'FreeText', 'budget')], [el(S, 'RebuildResults'), el(S, 'Range', '0-1')])));
      assert.equal(childText(all, 'Status', S), '1');
      assert.equal(childText(all, 'Total', S), '5');
      assert.equal(childText(all, 'Range', S), '0-1');
      assert.deepEqual(subjects(all), ['Budget review 5', 'Budget review 4']);
      const next = storeOf(await alice.client.post('Search', mailboxSearch([el(S, 'FreeText', 'BUDG')], [el(S, 'Range', '2-9')])));
      assert.equal(childText(next, 'Range', S), '2-4');
      assert.deepEqual(subjects(next), ['Budget review 3', 'Budget review 2', 'Budget review 1']);
      const none = storeOf(await alice.client.post('Search', mailboxSearch([el(S, 'FreeText', 'secret')])));
      assert.equal(childText(none, 'Total', S), '0');
      assert.equal(children(none, 'Result', S).length, 1, 'one empty Result');
      assert.equal(child(children(none, 'Result', S)[0]!, 'Properties', S), undefined);
    });

    it('CollectionId scopes the search; DeepTraversal takes in subfolders; unknown folder is Status 11', async () => {
      const alice = phone(env.srv, ALICE);
      await alice.folderSync();
      const inbox = alice.folderByType(2).serverId;
      const q = (deep: boolean) =>
        mailboxSearch([el('AirSync', 'Class', 'Email'), el('AirSync', 'CollectionId', inbox), el(S, 'FreeText', 'budget')], deep ? [el(S, 'DeepTraversal')] : []);
      assert.equal(childText(storeOf(await alice.client.post('Search', q(false))), 'Total', S), '4');
      assert.equal(childText(storeOf(await alice.client.post('Search', q(true))), 'Total', S), '5');
      const archive = storeOf(await alice.client.post('Search', mailboxSearch([el('AirSync', 'CollectionId', 'archive'), el(S, 'FreeText', 'budget')])));
      assert.deepEqual(subjects(archive), ['Budget review 1']);
      assert.equal(childText(archive, 'CollectionId', 'AirSync'), undefined);
      assert.equal(childText(children(archive, 'Result', S)[0]!, 'CollectionId', 'AirSync'), 'archive');
      const bobInbox = (await env.srv.store.listFolders((await env.srv.store.getUserByEmail(BOB.email))!.id)).find((f) => f.type === 2)!;
      const other = storeOf(await alice.client.post('Search', mailboxSearch([el('AirSync', 'CollectionId', bobInbox.id), el(S, 'FreeText', 'budget')])));
      assert.equal(childText(other, 'Status', S), '11');
    });

    it('ConversationId, date bounds and BodyPreference; statuses 2 and 8', async () => {
      const alice = phone(env.srv, ALICE);
      const store = env.srv.store;
      const a = (await store.getUserByEmail(ALICE.email))!;
      const inbox = (await store.listFolders(a.id)).find((f) => f.type === 2)!;
      const lunch = (await store.listChangesSince(a.id, inbox.id, 0, 100)).find((i) => i.data.subject === 'Team lunch')!;
      const conv = Buffer.from(String(lunch.data.conversationId), 'hex');
      const byConv = storeOf(await alice.client.post('Search', mailboxSearch([el(S, 'ConversationId', new Uint8Array(conv))])));
      assert.deepEqual(subjects(byConv), ['Team lunch']);

      const future = storeOf(
        await alice.client.post('Search', mailboxSearch([el(S, 'FreeText', 'budget'), el(S, 'GreaterThan', el('Email', 'DateReceived'), el(S, 'Value', '2999-01-01T00:00:00.000Z'))])),
      );
      assert.equal(childText(future, 'Total', S), '0');
      const past = storeOf(
        await alice.client.post('Search', mailboxSearch([el(S, 'FreeText', 'budget'), el(S, 'LessThan', el('Email', 'DateReceived'), el(S, 'Value', '2999-01-01T00:00:00.000Z'))])),
      );
      assert.equal(childText(past, 'Total', S), '5');

      const withBody = storeOf(
        await alice.client.post(
          'Search',
          mailboxSearch([el(S, 'FreeText', 'cafe')], [el('AirSyncBase', 'BodyPreference', el('AirSyncBase', 'Type', 1), el('AirSyncBase', 'TruncationSize', 5))]),
        ),
      );
      const body = child(child(children(withBody, 'Result', S)[0]!, 'Properties', S)!, 'Body', 'AirSyncBase')!;
      assert.equal(childText(body, 'Truncated', 'AirSyncBase'), '1');
      assert.equal(childText(body, 'Data', 'AirSyncBase'), 'Pizza');

      const noText = storeOf(await alice.client.post('Search', mailboxSearch([el('AirSync', 'Class', 'Email')])));
      assert.equal(childText(noText, 'Status', S), '2');
      const badRange = storeOf(await alice.client.post('Search', mailboxSearch([el(S, 'FreeText', 'x')], [el(S, 'Range', '9-2')])));
      assert.equal(childText(badRange, 'Status', S), '2');
      // An Or of FreeTexts is evaluated (below); a folder inside an Or is not.
      const or = storeOf(await alice.client.post('Search', mailboxSearch([el(S, 'Or', el(S, 'FreeText', 'x'), el('AirSync', 'CollectionId', 'archive'))])));
      assert.equal(childText(or, 'Status', S), '8');
      const equalTo = storeOf(await alice.client.post('Search', mailboxSearch([el(S, 'EqualTo', el('DocumentLibrary', 'LinkId'), el(S, 'Value', 'x'))])));
      assert.equal(childText(equalTo, 'Status', S), '8');
      const unknownStore = storeOf(await alice.client.post('Search', el(S, 'Search', el(S, 'Store', el(S, 'Name', 'DocumentLibrary'), el(S, 'Query', 'x')))));
      assert.equal(childText(unknownStore, 'Status', S), '2');
    });

    it('a LongId from Search names the message for SmartForward', async () => {
      const alice = phone(env.srv, ALICE);
      const found = storeOf(await alice.client.post('Search', mailboxSearch([el(S, 'FreeText', 'lunch')])));
      const longId = childText(children(found, 'Result', S)[0]!, 'LongId', S)!;
      assert.ok(longId);
      const res = await alice.client.post(
        'SmartForward',
        composeMail('SmartForward', { clientId: 'fw-long', mime: mimeMessage({ from: ALICE.email, to: 'ivy@outside.test', subject: 'Fwd: lunch', text: 'join?' }), source: { longId } }),
      );
      assert.equal(res.body.length, 0);
      assert.match(env.sink!.messages.find((m) => m.to.includes('ivy@outside.test'))!.raw.toString(), /Pizza at the caf/);
    });

    it('Search Store=GAL answers from the directory', async () => {
      const alice = phone(env.srv, ALICE);
      const res = await alice.client.post('Search', el(S, 'Search', el(S, 'Store', el(S, 'Name', 'GAL'), el(S, 'Query', 'bob'), el(S, 'Options', el(S, 'Range', '0-9')))));
      const store = storeOf(res);
      assert.equal(childText(store, 'Status', S), '1');
      const props = child(children(store, 'Result', S)[0]!, 'Properties', S)!;
      assert.equal(childText(props, 'EmailAddress', 'GAL'), BOB.email);
    });

    it('Find (16.1): mailbox hits with ServerIds and summary properties; GAL; statuses 2, 3 and 4', async () => {
      const alice = phone(env.srv, ALICE);
      await alice.folderSync();
      const inbox = alice.folderByType(2).serverId;
      const findReq = (criterion: WbxmlElement) => el(F, 'Find', el(F, 'SearchId', 'search-1'), el(F, 'ExecuteSearch', criterion));
      const mailbox = (q: Array<WbxmlElement | null>, range = '0-2', deep = false) =>
        findReq(el(F, 'MailBoxSearchCriterion', el(F, 'Query', q), el(F, 'Options', el(F, 'Range', range), deep ? el(F, 'DeepTraversal') : null)));

      const res = await alice.client.post('Find', mailbox([el('AirSync', 'Class', 'Email'), el('AirSync', 'CollectionId', inbox), el(F, 'FreeText', 'budget')], '0-2', true));
      assert.equal(childText(res.wbxml!, 'Status', F), '1');
      const response = child(res.wbxml!, 'Response', F)!;
      assert.equal(childText(response, 'Store', 'ItemOperations'), 'Mailbox');
      assert.equal(childText(response, 'Status', F), '1');
      assert.equal(childText(response, 'Total', F), '5');
      assert.equal(childText(response, 'Range', F), '0-2');
      const results = children(response, 'Result', F);
      assert.equal(results.length, 3);
      const first = results[0]!;
      const serverId = childText(first, 'ServerId', 'AirSync')!;
      const props = child(first, 'Properties', F)!;
      assert.equal(childText(props, 'Subject', 'Email'), 'Budget review 5');
      assert.equal(childText(props, 'Preview', F), 'Numbers for quarter 5');
      assert.equal(childText(props, 'HasAttachments', F), '0');
      assert.match(childText(props, 'From', 'Email')!, /carol@outside\.test/);
      const a = (await env.srv.store.getUserByEmail(ALICE.email))!;
      assert.equal((await env.srv.store.getItemByServerId(a.id, serverId))?.data.subject, 'Budget review 5');

      const gal = await alice.client.post('Find', findReq(el(F, 'GalSearchCriterion', el(F, 'Query', 'bob'), el(F, 'Options', el(F, 'Range', '0-9')))));
      const galResponse = child(gal.wbxml!, 'Response', F)!;
      assert.equal(childText(galResponse, 'Store', 'ItemOperations'), 'GAL');
      assert.equal(childText(child(children(galResponse, 'Result', F)[0]!, 'Properties', F)!, 'EmailAddress', 'GAL'), BOB.email);

      const notZero = await alice.client.post('Find', mailbox([el(F, 'FreeText', 'budget')], '3-5'));
      assert.equal(childText(child(notZero.wbxml!, 'Response', F)!, 'Status', F), '4');
      const unknown = await alice.client.post('Find', mailbox([el('AirSync', 'CollectionId', 'nope'), el(F, 'FreeText', 'budget')]));
      assert.equal(childText(unknown.wbxml!, 'Status', F), '3');
      const empty = await alice.client.post('Find', mailbox([el(F, 'FreeText', '  ')]));
      assert.equal(childText(empty.wbxml!, 'Status', F), '2');
      const secret = await alice.client.post('Find', mailbox([el(F, 'FreeText', 'secret')]));
      assert.equal(childText(child(secret.wbxml!, 'Response', F)!, 'Total', F), '0');
    });
  });
}
