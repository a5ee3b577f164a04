/**
 * Find (16.1) as iOS Mail sends it, and Search of the Mailbox store with the same words, over a
 * real server on SQLite and PostgreSQL: the FreeText is Keyword Query Language (field prefixes,
 * quoted values, OR, NOT), read by one parser and decided by one matcher for both commands.
 *
 * The iOS request is the WBXML an iPhone on iOS 18.4.1 sent, logged as "WBXML 10K debug data" in
 * Z-Hub/Z-Push pull request #147 (https://github.com/Z-Hub/Z-Push/pull/147); only its
 * CollectionId is replaced by this user's Inbox. grommunio-sync takes the same FreeText shape
 * apart in lib/grommunio/grommunio.php (getFindRestriction).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deliverMessage, type DeliveryTargets } from '../../src/mail/deliver.ts';
import { child, childText, children, decodeWbxml, el, isElement, type WbxmlElement } from '../../src/wbxml/index.ts';
import { pgSkipped } from '../helpers/db.ts';
import { ALICE, BOB, phone, startMailOut, type MailOutEnv } from '../mail-out/harness.ts';

const S = 'Search';
const F = 'Find';

/** The iOS 18.4.1 Find request of Z-Push pull request #147, byte for byte. */
const IOS_FIND_WBXML =
  'AwFqAAAZRUYDNDJERDczMzYtNDE5Ri00RjY4LUJFQkMtOTU5ODJCRjY5ODk5AAFHSEkAAFADRW1haWwAAVIDZWY2YzEzYjAAAQAZSwN0bzoiVGVzdCIgT1IgY2M6IlRlc3QiIE9SIGZyb206IlRlc3QiIE9SIHN1YmplY3Q6IlRlc3QiIE9SICJUZXN0IiBPUiAiVGVzdCIAAQFMTQMwLTk5AAEOAQEBAQ==';

/** The traced request with its CollectionId (and, if given, its FreeText) replaced. */
function iosFind(collectionId: string, freeText?: string): WbxmlElement {
  const tree = decodeWbxml(new Uint8Array(Buffer.from(IOS_FIND_WBXML, 'base64')));
  const query = child(child(child(tree, 'ExecuteSearch', F)!, 'MailBoxSearchCriterion', F)!, 'Query', F)!;
  query.children = query.children.map((c) => {
    if (isElement(c) && c.name === 'CollectionId') return el('AirSync', 'CollectionId', collectionId);
    if (isElement(c) && c.name === 'FreeText' && freeText !== undefined) return el(F, 'FreeText', freeText);
    return c;
  });
  return tree;
}

async function deliver(targets: DeliveryTargets, h: { to: string; from: string; cc?: string; subject: string; text: string }): Promise<void> {
  const raw = `From: ${h.from}\r\nTo: ${h.to}\r\n${h.cc ? `Cc: ${h.cc}\r\n` : ''}Subject: ${h.subject}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${h.text}\r\n`;
  const res = await deliverMessage(targets, { envelopeFrom: 'x@outside.example', recipients: [h.to], raw: Buffer.from(raw) });
  assert.equal(res[0]!.outcome, 'delivered');
}

function findSubjects(res: { wbxml?: WbxmlElement }): { total: string | undefined; subjects: string[] } {
  assert.equal(childText(res.wbxml!, 'Status', F), '1');
  const response = child(res.wbxml!, 'Response', F)!;
  assert.equal(childText(response, 'Status', F), '1');
  const subjects = children(response, 'Result', F).map((r) => childText(child(r, 'Properties', F)!, 'Subject', 'Email')!);
  return { total: childText(response, 'Total', F), subjects };
}

function searchSubjects(res: { wbxml?: WbxmlElement }): { status: string | undefined; total: string | undefined; range: string | undefined; subjects: string[] } {
  const store = child(child(res.wbxml!, 'Response', S)!, 'Store', S)!;
  const subjects = children(store, 'Result', S)
    .map((r) => child(r, 'Properties', S))
    .filter((p): p is WbxmlElement => p !== undefined)
    .map((p) => childText(p, 'Subject', 'Email')!);
  return { status: childText(store, 'Status', S), total: childText(store, 'Total', S), range: childText(store, 'Range', S), subjects };
}

const mailboxSearch = (query: WbxmlElement[], range = '0-99') =>
  el(S, 'Search', el(S, 'Store', el(S, 'Name', 'Mailbox'), el(S, 'Query', el(S, 'And', el('AirSync', 'Class', 'Email'), query)), el(S, 'Options', el(S, 'Range', range))));

const sorted = (xs: string[]) => [...xs].sort();

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`Find and Search with KQL FreeText on ${backend}`, { skip: backend === 'postgres' && pgSkipped() }, () => {
    let env: MailOutEnv;
    let inbox: string;
    before(async () => {
      env = await startMailOut({ backend });
      const alice = phone(env.srv, ALICE);
      await alice.folderSync();
      inbox = alice.folderByType(2).serverId;
      const targets = env.srv.runtime.deliveryTargets;
      const to = ALICE.email;
      await deliver(targets, { to, from: 'Carol <carol@outside.example>', subject: 'Quarterly numbers', text: 'The test results are attached' });
      await deliver(targets, { to, from: 'Tess Tester <tess@outside.example>', subject: 'Lunch', text: 'Pizza at noon' });
      await deliver(targets, { to, from: 'Dan <dan@outside.example>', cc: 'Testa Team <team@example.com>', subject: 'Plans', text: 'Nothing yet' });
      await deliver(targets, { to, from: 'Eve <eve@outside.example>', subject: 'Test drive', text: 'The new car' });
      await deliver(targets, { to, from: 'Carol <carol@outside.example>', subject: 'Holiday', text: 'Beach and sun' });
      await deliver(targets, { to: BOB.email, from: 'Carol <carol@outside.example>', subject: 'Test secret', text: 'Bob only' });
    });
    after(async () => {
      await env.close();
    });

    it('the iOS Find request finds "Test" in To, Cc, From, Subject or anywhere; never another user\'s mail', async () => {
      const alice = phone(env.srv, ALICE);
      const res = findSubjects(await alice.client.post('Find', iosFind(inbox)));
      assert.equal(res.total, '4');
      assert.deepEqual(sorted(res.subjects), ['Lunch', 'Plans', 'Quarterly numbers', 'Test drive']);
      const none = findSubjects(await alice.client.post('Find', iosFind(inbox, 'to:"Secret" OR cc:"Secret" OR from:"Secret" OR subject:"Secret" OR "Secret" OR "Secret"')));
      assert.equal(none.total, '0');
    });

    it('fields, phrases and NOT narrow a Find; Search gives the same answer for the same FreeText', async () => {
      const alice = phone(env.srv, ALICE);
      const cases: Array<[string, string[]]> = [
        ['subject:"Test"', ['Test drive']],
        ['from:carol', ['Holiday', 'Quarterly numbers']],
        ['from:carol@outside.example subject:holiday', ['Holiday']],
        ['cc:testa OR subject:lunch', ['Lunch', 'Plans']],
        ['"test results"', ['Quarterly numbers']],
        ['"results test"', []],
        ['test -subject:drive', ['Lunch', 'Plans', 'Quarterly numbers']],
        ['participants:outside NOT (carol OR dan)', ['Lunch', 'Test drive']],
        ['quarterly numbers', ['Quarterly numbers']],
      ];
      for (const [freeText, expected] of cases) {
        const found = findSubjects(await alice.client.post('Find', iosFind(inbox, freeText)));
        assert.deepEqual(sorted(found.subjects), expected, `Find ${freeText}`);
        assert.equal(found.total, String(expected.length), `Find Total ${freeText}`);
        const searched = searchSubjects(await alice.client.post('Search', mailboxSearch([el(S, 'FreeText', freeText)])));
        assert.equal(searched.status, '1');
        assert.deepEqual(sorted(searched.subjects), expected, `Search ${freeText}`);
        assert.equal(searched.total, String(expected.length), `Search Total ${freeText}`);
      }
    });

    it('Search pages what the matcher decides, newest first, and evaluates an Or of FreeTexts', async () => {
      const alice = phone(env.srv, ALICE);
      const first = searchSubjects(await alice.client.post('Search', mailboxSearch([el(S, 'FreeText', 'participants:outside')], '0-1')));
      assert.equal(first.total, '5');
      assert.equal(first.range, '0-1');
      assert.deepEqual(first.subjects, ['Holiday', 'Test drive']);
      const rest = searchSubjects(await alice.client.post('Search', mailboxSearch([el(S, 'FreeText', 'participants:outside')], '2-9')));
      assert.equal(rest.range, '2-4');
      assert.deepEqual(rest.subjects, ['Plans', 'Lunch', 'Quarterly numbers']);
      const or = searchSubjects(await alice.client.post('Search', mailboxSearch([el(S, 'Or', el(S, 'FreeText', 'beach'), el(S, 'FreeText', 'subject:lunch'))])));
      assert.equal(or.status, '1');
      assert.deepEqual(sorted(or.subjects), ['Holiday', 'Lunch']);
    });

    it('odd FreeText is searched for what words it has, never an error', async () => {
      const alice = phone(env.srv, ALICE);
      for (const [freeText, total] of [
        ['subject:"', '0'],
        ['(((', '0'],
        ['OR', '0'],
        ['pizza )) AND (', '1'],
        ['NOT', '1'], // nothing but an operator: the word "not", which starts "Nothing yet"
      ] as const) {
        const found = findSubjects(await alice.client.post('Find', iosFind(inbox, freeText)));
        assert.equal(found.total, total, freeText);
      }
    });
  });
}
