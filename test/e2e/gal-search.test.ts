/**
 * Scenario: a phone searches the global address list (Search, Store Name GAL) over HTTP against a
 * running server, on SQLite and PostgreSQL: by prefix of first name, last name and address, with
 * Range paging and Total, and pictures from 14.1. Directory details come from `easd user set`'s
 * store calls.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { child, childText, children, el, type WbxmlElement } from '../../src/wbxml/tree.ts';
import { pgSkipped } from '../helpers/db.ts';
import { EasClient } from '../helpers/eas-client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const S = 'Search';
const G = 'GAL';
const ANN = { email: 'ann.smith@example.com', password: 'ann-password-123', displayName: 'Ann Smith' };
const BOB = { email: 'bob.jones@example.com', password: 'bob-password-123', displayName: 'Bob Jones' };
const ROB = { email: 'rsmithers@example.com', password: 'rob-password-123', displayName: 'Robert Smithers' };
const PIC = Buffer.from('ffd8ffe0a1b2c3', 'hex');

const q = (name: string, ...kids: Parameters<typeof el>[2][]) => el(S, name, ...kids);

interface Found {
  status: number;
  results: Array<Record<string, string>>;
  range?: string;
  total?: string;
}

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`GAL search (${backend})`, { skip: backend === 'postgres' && pgSkipped() ? 'EASD_TEST_SKIP_PG=1' : false }, () => {
    let server: TestServer;

    before(async () => {
      server = await startTestServer({ users: [ANN, BOB, ROB], backend, logLevel: 'warn' });
      const dir = server.store.directory;
      const ann = server.users.get(ANN.email)!;
      await dir.updateEntry(ann.id, { firstName: 'Ann', lastName: 'Smith', title: 'CTO', phone: '+1 555 0100', office: 'B2', company: 'Example Ltd', mobilePhone: '+1 555 0199' });
      await dir.setPicture(ann.id, PIC);
      await dir.updateEntry(server.users.get(BOB.email)!.id, { firstName: 'Bob', lastName: 'Jones' });
      await dir.updateEntry(server.users.get(ROB.email)!.id, { firstName: 'Robert', lastName: 'Smithers' });
      await dir.addAlias(server.users.get(BOB.email)!.id, 'helpdesk@example.com');
    });
    after(() => server.close());

    const search = async (query: string, options: WbxmlElement[] = [], version = '16.1'): Promise<Found> => {
      const phone = new EasClient({ url: server.url, user: BOB.email, password: BOB.password, version, deviceId: `GAL${backend}${version.replace('.', '')}` });
      const res = await phone.post('Search', q('Search', q('Store', q('Name', 'GAL'), q('Query', query), options.length ? q('Options', options) : null)));
      assert.equal(res.status, 200);
      assert.equal(childText(res.wbxml!, 'Status', S), '1');
      const store = child(child(res.wbxml!, 'Response', S)!, 'Store', S)!;
      const results = children(store, 'Result', S)
        .map((r) => child(r, 'Properties', S))
        .filter((p): p is WbxmlElement => p !== undefined)
        .map((p) =>
          Object.fromEntries(
            children(p).map((c) => [c.name, c.name === 'Picture' ? `${childText(c, 'Status', G)}:${childText(c, 'Data', G) ?? ''}` : String(c.children[0])]),
          ),
        );
      return { status: Number(childText(store, 'Status', S)), results, range: childText(store, 'Range', S), total: childText(store, 'Total', S) };
    };
    const emails = (f: Found) => f.results.map((r) => r.EmailAddress);

    it('GAL search by prefix of first name, last name and address', async () => {
      assert.deepEqual(emails(await search('ann')), ['ann.smith@example.com'], 'first name');
      assert.deepEqual(emails(await search('Smi')), ['ann.smith@example.com', 'rsmithers@example.com'], 'last name');
      assert.deepEqual(emails(await search('rsmith')), ['rsmithers@example.com'], 'address');
      assert.deepEqual(emails(await search('bob.jones@')), ['bob.jones@example.com'], 'whole address prefix');
      assert.deepEqual(emails(await search('helpdesk')), ['bob.jones@example.com'], 'alias');
      const none = await search('zed');
      assert.equal(none.status, 1);
      assert.deepEqual(none.results, []);
      assert.equal(none.total, '0');
    });

    it('returns the GAL fields of a match', async () => {
      const [ann] = (await search('ann smith')).results;
      assert.deepEqual(ann, {
        DisplayName: 'Ann Smith',
        Phone: '+1 555 0100',
        Office: 'B2',
        Title: 'CTO',
        Company: 'Example Ltd',
        Alias: 'ann.smith',
        FirstName: 'Ann',
        LastName: 'Smith',
        MobilePhone: '+1 555 0199',
        EmailAddress: 'ann.smith@example.com',
      });
    });

    it('Range pages through matches with Total', async () => {
      let f = await search('s', [q('Range', '0-0')]);
      assert.equal(f.results.length, 1);
      assert.equal(f.range, '0-0');
      assert.equal(f.total, '2');
      assert.deepEqual(emails(f), ['ann.smith@example.com']);
      f = await search('s', [q('Range', '1-1')]);
      assert.deepEqual(emails(f), ['rsmithers@example.com']);
      assert.equal(f.range, '1-1');
      const bad = await search('s', [q('Range', '3-1')]);
      assert.equal(bad.status, 2);
    });

    it('pictures from 14.1 with their statuses', async () => {
      const f = await search('smi', [q('Picture', q('MaxPictures', 5))], '14.1');
      assert.equal(f.results[0]!.Picture, `1:${PIC.toString('base64')}`);
      assert.equal(f.results[1]!.Picture, '173:');
      const small = await search('ann', [q('Picture', q('MaxSize', 2))], '16.1');
      assert.equal(small.results[0]!.Picture, '174:');
    });
  });
}
