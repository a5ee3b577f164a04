/**
 * Overlong free text (security review, issue 15 item 6): a 60,000-character query in every
 * command whose words reach SQL (Search of the GAL store, MS-ASCMD 2.2.1.16; Search of the
 * Mailbox store and Find, whose FreeText becomes an FTS5 / tsquery expression; ResolveRecipients'
 * To) is answered with the documented status over a real server on SQLite and PostgreSQL, logged
 * as a warn line, never a server error or an error line. SQLite refuses LIKE patterns over 50,000
 * bytes ("LIKE or GLOB pattern too complex"), which is where the GAL search used to fail.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { child, childText, el } from '../../src/wbxml/index.ts';
import { pgSkipped } from '../helpers/db.ts';
import { EasClient } from '../helpers/eas-client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const S = 'Search';
const F = 'Find';
const RR = 'ResolveRecipients';
const ANN = { email: 'ann.smith@example.com', password: 'ann-password-123', displayName: 'Ann Smith' };
/** One word of 60,000 characters, and 10,000 short words: both shapes a fuzzer sends. */
const LONG_WORD = 'a'.repeat(60_000);
const MANY_WORDS = Array.from({ length: 10_000 }, (_, i) => `w${i}`).join(' ');

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`overlong queries (${backend})`, { skip: backend === 'postgres' && pgSkipped() ? 'EASD_TEST_SKIP_PG=1' : false }, () => {
    let server: TestServer;
    let phone: EasClient;
    before(async () => {
      server = await startTestServer({ users: [ANN], backend, logLevel: 'warn' });
      phone = new EasClient({ url: server.url, user: ANN.email, password: ANN.password, version: '16.1', deviceId: `LEN${backend}` });
    });
    after(() => server.close());

    /** The levels of the log lines written while `fn` ran. */
    const levelsDuring = async <T>(fn: () => Promise<T>): Promise<{ out: T; levels: number[] }> => {
      const from = server.logs.length;
      const out = await fn();
      return { out, levels: server.logs.slice(from).filter((l) => l.msg !== 'request').map((l) => l.level) };
    };
    const searchStoreStatus = async (store: string, query: ReturnType<typeof el>): Promise<{ status: string | undefined; levels: number[] }> => {
      const { out, levels } = await levelsDuring(() => phone.post('Search', el(S, 'Search', el(S, 'Store', el(S, 'Name', store), query))));
      assert.equal(out.status, 200);
      assert.equal(childText(out.wbxml!, 'Status', S), '1', 'the Search itself is understood');
      return { status: childText(child(child(out.wbxml!, 'Response', S)!, 'Store', S)!, 'Status', S), levels };
    };

    it('GAL search with a 60,000-character query is Store Status 8 (too complex) and a warn line', async () => {
      for (const q of [LONG_WORD, MANY_WORDS]) {
        const { status, levels } = await searchStoreStatus('GAL', el(S, 'Query', q));
        assert.equal(status, '8');
        assert.ok(!levels.some((l) => l >= 50), 'no error line');
        assert.ok(levels.includes(40), 'a warn line');
      }
      // A normal query still answers.
      const ok = await searchStoreStatus('GAL', el(S, 'Query', 'ann'));
      assert.equal(ok.status, '1');
    });

    it('mailbox Search with an overlong FreeText is Store Status 8 and a warn line', async () => {
      await phone.post('FolderSync', el('FolderHierarchy', 'FolderSync', el('FolderHierarchy', 'SyncKey', '0')));
      for (const q of [LONG_WORD, MANY_WORDS]) {
        const { status, levels } = await searchStoreStatus('Mailbox', el(S, 'Query', el(S, 'And', el('AirSync', 'Class', 'Email'), el(S, 'FreeText', q))));
        assert.equal(status, '8');
        assert.ok(!levels.some((l) => l >= 50), 'no error line');
        assert.ok(levels.includes(40), 'a warn line');
      }
    });

    it('Find with an overlong FreeText is Status 2 and a warn line', async () => {
      for (const q of [LONG_WORD, MANY_WORDS]) {
        const { out, levels } = await levelsDuring(() =>
          phone.post('Find', el(F, 'Find', el(F, 'SearchId', 'len-1'), el(F, 'ExecuteSearch', el(F, 'MailBoxSearchCriterion',
            el(F, 'Query', el('AirSync', 'Class', 'Email'), el(F, 'FreeText', q)), el(F, 'Options', el(F, 'Range', '0-9')))))),
        );
        assert.equal(out.status, 200);
        assert.notEqual(childText(out.wbxml!, 'Status', F), '1', 'not a success');
        assert.ok(!levels.some((l) => l >= 50), 'no error line');
        assert.ok(levels.includes(40), 'a warn line');
      }
    });

    it('Find in the GAL with an overlong query is Status 2 and a warn line', async () => {
      const { out, levels } = await levelsDuring(() =>
        phone.post('Find', el(F, 'Find', el(F, 'SearchId', 'len-2'), el(F, 'ExecuteSearch', el(F, 'GalSearchCriterion',
          el(F, 'Query', LONG_WORD), el(F, 'Options', el(F, 'Range', '0-9')))))),
      );
      assert.equal(out.status, 200);
      assert.equal(childText(out.wbxml!, 'Status', F), '2');
      assert.ok(!levels.some((l) => l >= 50), 'no error line');
      assert.ok(levels.includes(40), 'a warn line');
    });

    it('ResolveRecipients with an overlong To is Status 5 (protocol error) and no error line', async () => {
      for (const q of [LONG_WORD, MANY_WORDS]) {
        const { out, levels } = await levelsDuring(() => phone.post('ResolveRecipients', el(RR, 'ResolveRecipients', el(RR, 'To', q))));
        assert.equal(out.status, 200);
        assert.equal(childText(out.wbxml!, 'Status', RR), '5');
        assert.ok(!levels.some((l) => l >= 50), 'no error line');
      }
    });
  });
}
