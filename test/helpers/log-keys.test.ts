/** The duplicate-key finder every test server's log goes through (test/helpers/log-keys.ts). */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { duplicateKeys } from './log-keys.ts';

it('finds top-level keys written twice, not nested ones or ones inside strings', () => {
  assert.deepEqual(duplicateKeys('{"a":1,"user":"x","b":{"user":"y"},"user":"z"}'), ['user']);
  assert.deepEqual(duplicateKeys('{"a":"\\"a\\":1","b":[{"a":2}],"c":"a"}'), []);
  assert.deepEqual(duplicateKeys('{"msg":"x","msg":"y","msg":"z"}'), ['msg', 'msg']);
});
