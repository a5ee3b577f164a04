/** Mailbox logging's pure parts (src/logging/capture.ts): bodies as XML text, secrets removed. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bodyAsText, loggableHeaders, MAX_TEXT_BODY, redactSecrets } from '../../src/logging/capture.ts';
import { el, encodeWbxml } from '../../src/wbxml/index.ts';

describe('mailbox log capture', () => {
  it('writes WBXML as XML text with Password content redacted (ItemOperations document library credentials)', () => {
    const tree = el(
      'ItemOperations',
      'ItemOperations',
      el('ItemOperations', 'Fetch', el('ItemOperations', 'Store', 'DocumentLibrary'), el('ItemOperations', 'Options', el('ItemOperations', 'UserName', 'ann'), el('ItemOperations', 'Password', 's3cret-pw'))),
    );
    const xml = bodyAsText(Buffer.from(encodeWbxml(tree)), 'application/vnd.ms-sync.wbxml')!;
    assert.match(xml, /<ItemOperations xmlns="ItemOperations:">/);
    assert.match(xml, /<UserName>ann<\/UserName>/);
    assert.match(xml, /<Password>\(redacted\)<\/Password>/);
    assert.doesNotMatch(xml, /s3cret-pw/);
    // The tree itself is left alone.
    assert.equal(JSON.stringify(tree).includes('s3cret-pw'), true);
    assert.equal(redactSecrets(el('AirSync', 'Sync')).name, 'Sync');
  });

  it('keeps text bodies (bounded), notes binary ones and malformed WBXML without throwing', () => {
    assert.equal(bodyAsText(Buffer.from('Subject: hi\r\n\r\nbody'), 'message/rfc822'), 'Subject: hi\r\n\r\nbody');
    const long = bodyAsText(Buffer.alloc(MAX_TEXT_BODY + 10, 0x61), 'message/rfc822')!;
    assert.match(long, /\(\.\.\. 10 more bytes\)$/);
    assert.equal(bodyAsText(Buffer.from([1, 2, 3]), 'application/octet-stream'), '(3 bytes of application/octet-stream)');
    assert.match(bodyAsText(Buffer.from([3, 1, 106, 0, 0x45, 0x99]), 'application/vnd.ms-sync.wbxml')!, /^\(malformed WBXML, 6 bytes/);
    assert.equal(bodyAsText(Buffer.alloc(0), 'application/vnd.ms-sync.wbxml'), null);
  });

  it('never keeps Authorization, Proxy-Authorization or cookies', () => {
    const h = loggableHeaders({ Authorization: 'Basic eDp5', 'proxy-authorization': 'x', cookie: 'a=b', 'Set-Cookie': ['c=d'], 'User-Agent': 'phone', 'ms-asprotocolversion': '16.1', skip: undefined });
    assert.deepEqual(h, { 'user-agent': 'phone', 'ms-asprotocolversion': '16.1' });
  });
});
