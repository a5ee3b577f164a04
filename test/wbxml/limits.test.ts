/**
 * The decoder's bounds on hostile input (src/wbxml/decoder.ts): nesting deeper than MAX_DEPTH and
 * more than MAX_ELEMENTS elements are a WbxmlError (HTTP 400 at the endpoint), found in one pass.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeWbxml, MAX_DEPTH, MAX_ELEMENTS, WbxmlError } from '../../src/wbxml/index.ts';

/** WBXML 1.3, public id 1, UTF-8, no string table; <Sync> (AirSync page 0, token 0x05) with content. */
const HEAD = [0x03, 0x01, 0x6a, 0x00, 0x45];
/** `n` empty <Collection/> (0x0f) under <Sync>. */
function emptyCollections(n: number): Buffer {
  const b = Buffer.alloc(HEAD.length + n + 1, 0x0f);
  b.set(HEAD, 0);
  b[b.length - 1] = 0x01;
  return b;
}

describe('WBXML decoder limits', () => {
  it(`takes ${MAX_ELEMENTS} elements and refuses one more`, () => {
    assert.equal(decodeWbxml(emptyCollections(MAX_ELEMENTS - 1)).children.length, MAX_ELEMENTS - 1);
    assert.throws(() => decodeWbxml(emptyCollections(MAX_ELEMENTS)), (e: unknown) => e instanceof WbxmlError && /more than 1000000 elements/.test(e.message));
  });

  it(`refuses nesting deeper than ${MAX_DEPTH}`, () => {
    const b = Buffer.alloc(HEAD.length + MAX_DEPTH + 10, 0x4f);
    b.set(HEAD, 0);
    assert.throws(() => decodeWbxml(b), (e: unknown) => e instanceof WbxmlError && /nested deeper/.test(e.message));
  });
});
