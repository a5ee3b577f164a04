/**
 * Attachments a 16.x device adds to and removes from drafts and calendar items in Sync
 * (MS-ASAIRS 2.2.2.2 Add, 2.2.2.21 Delete, 2.2.2.7 Attachment in Responses, 2.2.2.14 ClientId,
 * 2.2.2.24.1 FileReference), over the real server with protocol 16.1, on SQLite, PostgreSQL and
 * the in-memory mailbox.
 *
 * Request shape as 16.x clients send it: ApplicationData carries airsyncbase:Attachments with
 * airsyncbase:Add children (ClientId, Content as opaque bytes, Method, DisplayName, ContentType,
 * optional ContentId/IsInline) and airsyncbase:Delete children (FileReference); the server
 * answers the Add/Change in Responses with ApplicationData/Attachments/Attachment(ClientId,
 * FileReference). Source of the shape: Horde's ActiveSync library, which serves iOS and
 * Outlook on 16.x: horde/ActiveSync lib/Horde/ActiveSync/Message/AirSyncBaseAdd.php (the Add
 * children), Message/AirSyncBaseDelete.php (Delete by FileReference), Message/Mail.php and
 * Message/Appointment.php (Attachments holding Attachment|Add|Delete), and
 * Connector/Exporter/Sync.php _sendEas16MessageResponse (the answer: ClientId + FileReference per
 * added attachment, for drafts and calendar items).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { simpleParser } from 'mailparser';
import { child, childText, children, el, type WbxmlElement } from '../../src/wbxml/index.ts';
import { liveItemsOf } from '../helpers/store-items.ts';
import { pgSkipped } from '../helpers/db.ts';
import { ALICE, BOB, phone, startMailOut, type MailOutEnv } from '../mail-out/harness.ts';
import { attachmentsOf } from './mail-helpers.ts';
import type { Device } from './device.ts';

const ASB = 'AirSyncBase';
const IO = 'ItemOperations';

const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.from([0x00, 0xff, 0x80, 0x7f, 0x0a]), Buffer.from('binary tail\n')]);
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');

function attAdd(clientId: string | undefined, name: string, contentType: string, content: Buffer | undefined, extra: WbxmlElement[] = []): WbxmlElement {
  return el(
    ASB,
    'Add',
    clientId === undefined ? null : el(ASB, 'ClientId', clientId),
    content === undefined ? null : el(ASB, 'Content', new Uint8Array(content)),
    el(ASB, 'Method', 1),
    el(ASB, 'DisplayName', name),
    el(ASB, 'ContentType', contentType),
    ...extra,
  );
}

const attDelete = (ref: string) => el(ASB, 'Delete', el(ASB, 'FileReference', ref));

function draft(subject: string, text: string, attachments: WbxmlElement[], send = false): WbxmlElement {
  return el(
    'AirSync',
    'ApplicationData',
    el('Email', 'To', `"Bob" <${BOB.email}>`),
    el('Email', 'Subject', subject),
    el('AirSyncBase', 'Body', el('AirSyncBase', 'Type', 1), el('AirSyncBase', 'Data', text)),
    el('Email2', 'Bcc', 'carl@outside.test'),
    attachments.length ? el(ASB, 'Attachments', attachments) : null,
    send ? el('Email2', 'Send') : null,
  );
}

/** ClientId -> FileReference from the Responses Add/Change's ApplicationData. */
function answeredRefs(response: WbxmlElement): Map<string, string> {
  const out = new Map<string, string>();
  const atts = child(child(response, 'ApplicationData', 'AirSync') ?? el('AirSync', 'ApplicationData'), 'Attachments', ASB);
  for (const a of atts ? children(atts, 'Attachment', ASB) : []) out.set(childText(a, 'ClientId', ASB)!, childText(a, 'FileReference', ASB)!);
  return out;
}

async function fetchAttachment(dev: Device, ref: string): Promise<{ status: string; contentType?: string; data?: Buffer }> {
  const res = await dev.client.post('ItemOperations', el(IO, 'ItemOperations', el(IO, 'Fetch', el(IO, 'Store', 'Mailbox'), el(ASB, 'FileReference', ref))));
  const fetch = children(child(res.wbxml!, 'Response', IO)!, 'Fetch', IO)[0]!;
  const props = child(fetch, 'Properties', IO);
  const data = props ? childText(props, 'Data', IO) : undefined;
  return {
    status: childText(fetch, 'Status', IO)!,
    contentType: props ? childText(props, 'ContentType', ASB) : undefined,
    data: data === undefined ? undefined : Buffer.from(data, 'base64'),
  };
}

for (const backend of ['sqlite', 'postgres', 'memory'] as const) {
  describe(`16.x attachments in Sync on ${backend}`, { skip: backend === 'postgres' && pgSkipped() }, () => {
    let env: MailOutEnv;
    before(async () => {
      env = await startMailOut({ backend, relay: true });
    });
    after(async () => {
      await env.close();
    });

    it('a draft with two attachments: FileReferences answered, the other device sees and fetches them, a Change deletes one, Send relays the rest', async () => {
      const phoneA = phone(env.srv, ALICE, 'ATTA');
      const phoneB = phone(env.srv, ALICE, 'ATTB');
      await phoneA.folderSync();
      await phoneB.folderSync();
      const drafts = phoneA.folderByType(3).serverId;
      await phoneA.initialSync(drafts);
      await phoneB.initialSync(drafts);

      const added = await phoneA.sync(drafts, {
        commands: [
          el(
            'AirSync',
            'Add',
            el('AirSync', 'ClientId', 'draft-1'),
            draft('Report', 'see attached', [
              attAdd('att-1', 'report.pdf', 'application/pdf', PDF),
              attAdd('att-2', 'logo.png', 'image/png', PNG, [el(ASB, 'ContentId', 'logo@phone'), el(ASB, 'IsInline', 1)]),
            ]),
          ),
        ],
      });
      const answer = added.responses[0]!;
      assert.equal(childText(answer, 'Status', 'AirSync'), '1');
      const serverId = childText(answer, 'ServerId', 'AirSync')!;
      const refs = answeredRefs(answer);
      assert.deepEqual([...refs.keys()], ['att-1', 'att-2'], 'a FileReference for each ClientId (MS-ASAIRS 2.2.2.14)');

      const onB = await phoneB.sync(drafts);
      assert.equal(onB.adds.length, 1);
      const seen = attachmentsOf(onB.adds[0]!.appData);
      assert.deepEqual(
        seen.map((a) => [a.name, a.fileReference, a.size, a.contentId, a.isInline]),
        [
          ['report.pdf', refs.get('att-1'), String(PDF.length), undefined, false],
          ['logo.png', refs.get('att-2'), String(PNG.length), 'logo@phone', true],
        ],
      );
      const fetched = await fetchAttachment(phoneB, refs.get('att-1')!);
      assert.equal(fetched.status, '1');
      assert.equal(fetched.contentType, 'application/pdf');
      assert.deepEqual(fetched.data, PDF);
      // Bob cannot reach Alice's draft attachment (MS-ASCMD 2.2.3.177.8 Status 15 for an unknown one).
      const bobPhone = phone(env.srv, BOB, 'ATTBOB');
      assert.equal((await fetchAttachment(bobPhone, refs.get('att-1')!)).status, '15');

      // The same Change sent twice (a retried request): one Delete, nothing added twice.
      const change = el('AirSync', 'Change', el('AirSync', 'ServerId', serverId), draft('Report', 'only the logo now', [attDelete(refs.get('att-1')!)]));
      const changed = await phoneA.sync(drafts, { commands: [change] });
      assert.equal(changed.status, 1);
      assert.equal(changed.responses.length, 0, 'a Change that adds no attachment is not answered');
      const onB2 = await phoneB.sync(drafts);
      assert.deepEqual(attachmentsOf(onB2.changes[0]!.appData).map((a) => a.fileReference), [refs.get('att-2')]);
      assert.equal((await fetchAttachment(phoneB, refs.get('att-1')!)).status, '15', 'the deleted attachment is gone');
      const again = await phoneA.sync(drafts, { commands: [change] });
      assert.equal(again.status, 1);
      assert.equal(again.responses.length, 0, 'the retried Delete is done already, not an error');

      // Send: the relayed message carries the remaining attachment only.
      const sent = await phoneA.sync(drafts, { commands: [el('AirSync', 'Change', el('AirSync', 'ServerId', serverId), draft('Report', 'only the logo now', [], true))] });
      assert.equal(sent.status, 1);
      const relayed = env.sink!.messages.find((m) => m.to.includes('carl@outside.test'));
      assert.ok(relayed, 'the draft went out through the relay');
      const mime = await simpleParser(relayed.raw);
      assert.deepEqual(
        mime.attachments.map((a) => [a.filename, a.contentType, a.cid]),
        [['logo.png', 'image/png', 'logo@phone']],
      );
      assert.deepEqual(mime.attachments[0]!.content, PNG);
      const bobCopy = (await liveItemsOf(env.srv.store, BOB.email, 2)).find((i) => i.data.subject === 'Report');
      assert.ok(bobCopy, 'the local recipient got it');
      assert.deepEqual((bobCopy.data.attachments as Array<{ name: string }>).map((a) => a.name), ['logo.png']);
      assert.equal((await liveItemsOf(env.srv.store, ALICE.email, 3)).length, 0, 'gone from Drafts');
    });

    it('bad input: an Add without ClientId or Content, or a Delete of another item\'s attachment, is Status 6 and the draft stays as it was', async () => {
      const dev = phone(env.srv, ALICE, 'ATTBAD');
      await dev.folderSync();
      const drafts = dev.folderByType(3).serverId;
      await dev.initialSync(drafts);
      const noClientId = await dev.sync(drafts, {
        commands: [el('AirSync', 'Add', el('AirSync', 'ClientId', 'bad-1'), draft('No id', 'x', [attAdd(undefined, 'a.txt', 'text/plain', Buffer.from('a'))]))],
      });
      assert.equal(childText(noClientId.responses[0]!, 'Status', 'AirSync'), '6');
      const noContent = await dev.sync(drafts, {
        commands: [el('AirSync', 'Add', el('AirSync', 'ClientId', 'bad-2'), draft('No content', 'x', [attAdd('c1', 'a.txt', 'text/plain', undefined)]))],
      });
      assert.equal(childText(noContent.responses[0]!, 'Status', 'AirSync'), '6');
      assert.equal((await liveItemsOf(env.srv.store, ALICE.email, 3)).filter((i) => /^No /.test(String(i.data.subject))).length, 0, 'nothing stored');

      const ok = await dev.sync(drafts, {
        commands: [el('AirSync', 'Add', el('AirSync', 'ClientId', 'good-1'), draft('Keep me', 'kept body', [attAdd('k1', 'keep.txt', 'text/plain', Buffer.from('keep'))]))],
      });
      const serverId = childText(ok.responses[0]!, 'ServerId', 'AirSync')!;
      const foreign = 'm000000000000000000000000:0';
      const bad = await dev.sync(drafts, {
        commands: [el('AirSync', 'Change', el('AirSync', 'ServerId', serverId), draft('Renamed', 'lost body?', [attDelete(foreign)]))],
      });
      assert.equal(childText(bad.responses[0]!, 'Status', 'AirSync'), '6');
      const stored = (await liveItemsOf(env.srv.store, ALICE.email, 3)).find((i) => i.serverId === serverId)!;
      assert.equal(stored.data.subject, 'Keep me');
      assert.deepEqual((stored.data.attachments as Array<{ name: string }>).map((a) => a.name), ['keep.txt']);
    });

    it('a calendar item: attachments added with FileReferences, seen and fetched on the other device, one deleted by a Change', async () => {
      const phoneA = phone(env.srv, ALICE, 'CALA');
      const phoneB = phone(env.srv, ALICE, 'CALB');
      await phoneA.folderSync();
      await phoneB.folderSync();
      const cal = phoneA.folderByType(8).serverId;
      await phoneA.initialSync(cal);
      await phoneB.initialSync(cal);
      const event = (attachments: WbxmlElement[]) =>
        el(
          'AirSync',
          'ApplicationData',
          el('Calendar', 'Subject', 'Planning'),
          el('Calendar', 'StartTime', '20300310T090000Z'),
          el('Calendar', 'EndTime', '20300310T100000Z'),
          el('Calendar', 'BusyStatus', 2),
          attachments.length ? el(ASB, 'Attachments', attachments) : null,
        );
      const added = await phoneA.sync(cal, {
        commands: [el('AirSync', 'Add', el('AirSync', 'ClientId', 'ev-1'), event([attAdd('a1', 'agenda.pdf', 'application/pdf', PDF), attAdd('a2', 'map.png', 'image/png', PNG)]))],
      });
      const answer = added.responses[0]!;
      assert.equal(childText(answer, 'Status', 'AirSync'), '1');
      const serverId = childText(answer, 'ServerId', 'AirSync')!;
      const refs = answeredRefs(answer);
      assert.deepEqual([...refs.keys()], ['a1', 'a2']);

      const onB = await phoneB.sync(cal);
      assert.deepEqual(attachmentsOf(onB.adds[0]!.appData).map((a) => [a.name, a.fileReference]), [['agenda.pdf', refs.get('a1')], ['map.png', refs.get('a2')]]);
      const got = await fetchAttachment(phoneB, refs.get('a2')!);
      assert.equal(got.status, '1');
      assert.equal(got.contentType, 'image/png');
      assert.deepEqual(got.data, PNG);

      // A Change deletes one and adds another: the answer names the new one's FileReference.
      const changed = await phoneA.sync(cal, {
        commands: [el('AirSync', 'Change', el('AirSync', 'ServerId', serverId), event([attDelete(refs.get('a1')!), attAdd('a3', 'notes.txt', 'text/plain', Buffer.from('bring coffee'))]))],
      });
      const changeAnswer = changed.responses.find((r) => r.name === 'Change')!;
      assert.equal(childText(changeAnswer, 'Status', 'AirSync'), '1');
      const ref3 = answeredRefs(changeAnswer).get('a3')!;
      assert.ok(ref3);
      const onB2 = await phoneB.sync(cal);
      assert.deepEqual(attachmentsOf(onB2.changes[0]!.appData).map((a) => a.name), ['map.png', 'notes.txt']);
      assert.deepEqual((await fetchAttachment(phoneB, ref3)).data, Buffer.from('bring coffee'));
      assert.equal((await fetchAttachment(phoneB, refs.get('a1')!)).status, '15');
    });

    it('an invitation from a 16.1 organizer carries the event\'s attachments as iCalendar ATTACH (RFC 5545 3.8.1.1)', async () => {
      const dev = phone(env.srv, ALICE, 'CALORG');
      await dev.folderSync();
      const cal = dev.folderByType(8).serverId;
      await dev.initialSync(cal);
      const before = env.sink!.messages.length;
      const added = await dev.sync(cal, {
        commands: [
          el(
            'AirSync',
            'Add',
            el('AirSync', 'ClientId', 'inv-1'),
            el(
              'AirSync',
              'ApplicationData',
              el('Calendar', 'Subject', 'Review'),
              el('Calendar', 'StartTime', '20300311T090000Z'),
              el('Calendar', 'EndTime', '20300311T100000Z'),
              el('Calendar', 'MeetingStatus', 1),
              el('Calendar', 'Attendees', el('Calendar', 'Attendee', el('Calendar', 'Email', 'carl@outside.test'), el('Calendar', 'Name', 'Carl'), el('Calendar', 'AttendeeType', 1))),
              el(ASB, 'Attachments', attAdd('i1', 'slides.pdf', 'application/pdf', PDF)),
            ),
          ),
        ],
      });
      assert.equal(childText(added.responses[0]!, 'Status', 'AirSync'), '1');
      const invitation = env.sink!.messages.slice(before).find((m) => m.to.includes('carl@outside.test'));
      assert.ok(invitation, 'the REQUEST went out');
      const mime = await simpleParser(invitation.raw);
      const ics = (mime.attachments.find((a) => a.contentType === 'text/calendar')?.content.toString('utf8') ?? String(mime.text ?? '')).replace(/\r\n[ \t]/g, '');
      const attach = ics.split('\r\n').find((l) => l.startsWith('ATTACH'));
      assert.ok(attach, `an ATTACH line in:\n${ics}`);
      assert.match(attach, /FMTTYPE=application\/pdf/);
      assert.match(attach, /X-FILENAME=slides\.pdf/);
      assert.deepEqual(Buffer.from(attach.slice(attach.lastIndexOf(':') + 1), 'base64'), PDF);
    });
  });
}
