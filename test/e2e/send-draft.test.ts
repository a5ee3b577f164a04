/**
 * Drafts (protocol 16.0+, MS-ASEMAIL 2.2.2.69 Send) through the device simulator on SQLite,
 * PostgreSQL and the in-memory mailbox: a draft added on one device reaches the user's other
 * device; a Change with email2:Send sends it (Bcc through the relay, To into the local Inbox),
 * puts a copy in Sent Items and removes it from Drafts on every device; an Add with Send sends
 * at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { simpleParser } from 'mailparser';
import type { Store } from '../../src/store/types.ts';
import { childText, el } from '../../src/wbxml/index.ts';
import { liveItemsOf } from '../helpers/store-items.ts';
import { pgSkipped } from '../helpers/db.ts';
import { ALICE, BOB, phone, startMailOut, type MailOutEnv } from '../mail-out/harness.ts';


function draftData(subject: string, text: string, send: boolean, bcc?: string) {
  return el(
    'AirSync',
    'ApplicationData',
    el('Email', 'To', `"Bob" <${BOB.email}>`),
    el('Email', 'Subject', subject),
    el('Email', 'Importance', 2),
    el('AirSyncBase', 'Body', el('AirSyncBase', 'Type', 1), el('AirSyncBase', 'Data', text)),
    bcc ? el('Email2', 'Bcc', bcc) : null,
    send ? el('Email2', 'Send') : null,
  );
}

for (const backend of ['sqlite', 'postgres', 'memory'] as const) {
  describe(`drafts on ${backend}`, { skip: backend === 'postgres' && pgSkipped() }, () => {
    let env: MailOutEnv;
    before(async () => {
      env = await startMailOut({ backend, relay: true });
    });
    after(async () => {
      await env.close();
    });

    it('a draft syncs to the other device; Change with Send sends it and takes it out of Drafts', async () => {
      const phoneA = phone(env.srv, ALICE, 'PHONEA');
      const phoneB = phone(env.srv, ALICE, 'PHONEB');
      await phoneA.folderSync();
      await phoneB.folderSync();
      const drafts = phoneA.folderByType(3).serverId;
      await phoneA.initialSync(drafts);
      await phoneB.initialSync(drafts);

      const added = await phoneA.sync(drafts, { commands: [el('AirSync', 'Add', el('AirSync', 'ClientId', 'd1'), draftData('Plan', 'first thoughts', false))] });
      const serverId = childText(added.responses[0]!, 'ServerId', 'AirSync')!;
      assert.ok(serverId);
      const onB = await phoneB.sync(drafts);
      assert.deepEqual(onB.adds.map((a) => childText(a.appData, 'Subject', 'Email')), ['Plan']);
      assert.equal(env.sink!.messages.length, 0, 'a draft without Send is not sent');

      const changed = await phoneA.sync(drafts, {
        commands: [el('AirSync', 'Change', el('AirSync', 'ServerId', serverId), draftData('Plan', 'final words', true, 'carl@outside.test'))],
      });
      assert.equal(changed.status, 1);
      const bobMail = (await liveItemsOf(env.srv.store, BOB.email, 2)).find((i) => i.data.subject === 'Plan')!;
      assert.ok(bobMail, 'the draft reached Bob');
      assert.match(String((bobMail.data.body as { text?: string }).text), /final words/);
      assert.equal(bobMail.data.importance, 2);
      const relayed = env.sink!.messages.find((m) => m.to.includes('carl@outside.test'))!;
      const parsed = await simpleParser(relayed.raw);
      assert.equal(parsed.from?.value[0]?.address, ALICE.email);
      assert.equal(parsed.headers.get('bcc'), undefined);
      assert.equal((await liveItemsOf(env.srv.store, ALICE.email, 3)).length, 0, 'gone from Drafts');
      assert.ok((await liveItemsOf(env.srv.store, ALICE.email, 5)).some((i) => i.data.subject === 'Plan'), 'copy in Sent Items');
      const gone = await phoneB.sync(drafts);
      assert.deepEqual(gone.deletes, [serverId]);
    });

    it('an Add with Send is sent at once', async () => {
      const phoneA = phone(env.srv, ALICE, 'PHONEC');
      await phoneA.folderSync();
      const drafts = phoneA.folderByType(3).serverId;
      await phoneA.initialSync(drafts);
      await phoneA.sync(drafts, { commands: [el('AirSync', 'Add', el('AirSync', 'ClientId', 'd2'), draftData('Quick note', 'sent straight away', true))] });
      assert.ok((await liveItemsOf(env.srv.store, BOB.email, 2)).some((i) => i.data.subject === 'Quick note'));
      assert.equal((await liveItemsOf(env.srv.store, ALICE.email, 3)).length, 0);
    });
  });
}
