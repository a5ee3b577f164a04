/**
 * RequestFramer (src/http/request-framer.ts): where requests end in a byte stream (RFC 9112
 * 6.3), fed in any split, and opaque whenever a body cannot be framed for sure.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RequestFramer } from '../../src/http/request-framer.ts';

const req = (head: string, body = '') => Buffer.from(`${head}\r\n\r\n${body}`, 'latin1');
const post = (body: string, extra = '') => req(`POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: ${body.length}${extra}`, body);

/** Feeds `data` in pieces of `size` bytes and reports the boundary after each piece. */
function feedInPieces(f: RequestFramer, data: Buffer, size: number): boolean[] {
  const at: boolean[] = [];
  for (let i = 0; i < data.length; i += size) {
    f.feed(data.subarray(i, i + size));
    at.push(f.atBoundary);
  }
  return at;
}

describe('RequestFramer', () => {
  it('is at a boundary only once a request head and its Content-Length body are complete, however the bytes are split', () => {
    const one = post('0123456789');
    for (let size = 1; size <= one.length; size++) {
      const f = new RequestFramer();
      const at = feedInPieces(f, one, size);
      assert.equal(at[at.length - 1], true, `split ${size}`);
      assert.ok(at.slice(0, -1).every((b) => !b), `not before the end, split ${size}`);
      assert.equal(f.framed, 1);
    }
  });

  it('counts requests that come together in one chunk, and a request with no body', () => {
    const f = new RequestFramer();
    f.feed(Buffer.concat([post('abc'), req('OPTIONS /x HTTP/1.1\r\nHost: h'), post('')]));
    assert.equal(f.framed, 3);
    assert.ok(f.atBoundary);
    f.feed(Buffer.from('POST /x HT'));
    assert.equal(f.framed, 3);
    assert.ok(!f.atBoundary, 'a head begun');
    f.feed(Buffer.from('TP/1.1\r\ncontent-length:  2 \r\n\r\nxy'));
    assert.equal(f.framed, 4, 'header names are case-insensitive, whitespace around the value allowed');
    assert.ok(f.atBoundary);
  });

  it('is not at a boundary when bytes of the next request follow a body in the same chunk', () => {
    const f = new RequestFramer();
    f.feed(Buffer.concat([post('abc'), Buffer.from('OPT')]));
    assert.equal(f.framed, 1);
    assert.ok(!f.atBoundary);
  });

  for (const [what, data] of [
    ['a chunked body', req('POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked', '3\r\nabc\r\n0\r\n\r\n')],
    ['an Upgrade', req('GET /x HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade')],
    ['two Content-Length fields', req('POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1', 'a')],
    ['a Content-Length that is not a number', req('POST /x HTTP/1.1\r\nContent-Length: 1x', 'a')],
    ['a negative Content-Length', req('POST /x HTTP/1.1\r\nContent-Length: -1', 'a')],
  ] as const) {
    it(`is opaque from ${what} on, for good`, () => {
      const f = new RequestFramer();
      f.feed(data);
      assert.ok(f.opaque);
      assert.ok(!f.atBoundary);
      f.feed(post('later'));
      assert.ok(!f.atBoundary, 'never at a boundary again');
    });
  }

  it('is opaque once a head grows past its limit without ending', () => {
    const f = new RequestFramer(1024);
    f.feed(Buffer.from(`POST /x HTTP/1.1\r\nX-Long: ${'a'.repeat(1100)}`));
    assert.ok(f.opaque);
  });

  it('takes only CRLF CRLF as the end of a head (bare LF lines are never taken for a boundary)', () => {
    const f = new RequestFramer();
    f.feed(Buffer.from('POST /x HTTP/1.1\nContent-Length: 3\n\nabc'));
    assert.ok(!f.atBoundary);
    assert.equal(f.framed, 0);
  });
});
