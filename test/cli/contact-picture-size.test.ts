/**
 * `--max-contact-picture-size` / EASD_MAX_CONTACT_PICTURE_SIZE (issue 14 item 2) as an admin sets
 * it on `easd serve`: a contact photo over it is left out (the contact kept, a warn line), one
 * under it is kept and reaches another device; a value that is not a size stops easd at start.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { child, childText, el } from '../../src/wbxml/index.ts';
import { Device } from '../e2e/device.ts';
import { provision } from '../e2e/provision-client.ts';
import { refusesToStart, serve, tempDir } from './serve-process.ts';

const C = 'Contacts';
const add = (clientId: string, first: string, picture: string) =>
  el('AirSync', 'Add', el('AirSync', 'ClientId', clientId), el('AirSync', 'ApplicationData', el(C, 'FirstName', first), el(C, 'Picture', picture)));

describe('easd serve --max-contact-picture-size', () => {
  it('EASD_MAX_CONTACT_PICTURE_SIZE=1K: a 2 KB photo is left out and logged, a 500-byte one is kept', async () => {
    const s = await serve(await tempDir(), { EASD_MAX_CONTACT_PICTURE_SIZE: '1K' });
    try {
      const { password } = await s.proc.waitFor({ password: /^Created demo@localhost with password (\S+) \(shown only this once\)\.$/m });
      const phone = (id: string) => new Device({ url: s.url, user: 'demo@localhost', password, deviceId: id, deviceType: 'iPhone', version: '16.1' });
      const [a, b] = [phone('PICA1'), phone('PICB1')];
      // The built-in policy requires provisioning: each phone provisions first, as a real one does.
      for (const d of [a, b]) {
        assert.equal((await provision(d.client)).status, 1);
        assert.equal((await d.folderSync()).status, 1);
      }
      const contacts = a.folderByType(9).serverId;
      await a.initialSync(contacts);
      await b.initialSync(contacts);
      const small = Buffer.alloc(500, 1).toString('base64');
      const large = Buffer.alloc(2048, 2).toString('base64');
      const r = await a.sync(contacts, { commands: [add('big', 'Big', large), add('small', 'Small', small)] });
      assert.deepEqual(r.responses.map((x) => childText(x, 'Status', 'AirSync')), ['1', '1'], 'both contacts stored');
      const got = new Map((await b.syncAll(contacts)).map((i) => [childText(i.appData, 'FirstName', C), i.appData]));
      assert.equal(child(got.get('Big')!, 'Picture', C), undefined);
      assert.equal(childText(got.get('Small')!, 'Picture', C), small);
      await s.proc.waitFor({ warn: /"element":"Contacts:Picture"/ });
      assert.match(s.logLines().find((l) => l.includes('"element":"Contacts:Picture"'))!, /2048 bytes of image, more than the 1024/);
    } finally {
      assert.equal(await s.stop(), 0);
    }
  });

  it('a value that is not a size stops easd at start', async () => {
    assert.match(await refusesToStart({ EASD_MAX_CONTACT_PICTURE_SIZE: 'five megabytes' }), /not a size/);
  });
});
