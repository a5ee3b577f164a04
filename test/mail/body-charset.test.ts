/**
 * The body charset scan behind InternetCPID (src/mail/parse.ts bodyCharset, MS-ASEMAIL 2.2.2.43):
 * the last charset of the first Content-Type: text/* field that has one, folded lines included,
 * read in one pass (issue 15 item 1: the regular expression it replaces took 3-5 s on 64 KiB of
 * repeated Content-Type lines).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bodyCharset } from '../../src/mail/body-charset.ts';

const charset = (s: string) => bodyCharset(Buffer.from(s, 'latin1'));

describe('body charset', () => {
  it('reads the charset of the first text part, folded or not', () => {
    assert.equal(charset('Content-Type: text/plain; charset=ISO-2022-JP\r\n\r\nx'), 'iso-2022-jp');
    assert.equal(charset('Content-Type: multipart/alternative; boundary=b; charset=x\r\n\r\n--b\r\nContent-Type: text/html;\r\n\tcharset="windows-1252"\r\n\r\n'), 'windows-1252');
    assert.equal(charset('Content-Type: text/plain\r\nX-Other: charset=koi8-r\r\n'), undefined, 'not past the end of the field');
    assert.equal(charset('Content-Type: text/plain; charset=utf-8\r\n\tcharset="iso-8859-1"\r\n'), 'iso-8859-1', 'the last in the field');
    assert.equal(charset('Subject: hi\r\n\r\nbody'), undefined);
  });

  it('64 KiB of repeated Content-Type lines are read in one pass', { timeout: 60_000 }, () => {
    assert.equal(charset('Content-Type: text/plain '.repeat(2600)), undefined);
    assert.equal(charset('Content-Type: text/plain\n '.repeat(2500) + 'charset=utf-8'), 'utf-8');
  });
});
