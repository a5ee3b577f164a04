/** GlobalObjId <-> UID, against the examples of MS-ASEMAIL 4.3 and the ABNF of 2.2.2.37. */
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { globalObjIdFromUid, instanceDateOf, uidFromGlobalObjId } from '../../src/calendar/global-obj-id.ts';

// MS-ASEMAIL 4.3, example 1: an Outlook id with an instance date (2004-09-16).
const OUTLOOK_GOID = 'BAAAAIIA4AB0xbcQGoLgCAfUCRDgQMnBJoXEAQAAAAAAAAAAEAAAAAvw7UtuTulOnjnjhns3jvM=';
const OUTLOOK_UID = '040000008200E00074C5B7101A82E00800000000E040C9C12685C4010000000000000000100000000BF0ED4B6E4EE94E9E39E3867B378EF3';
// MS-ASEMAIL 4.3, example 2: a vCal-Uid wrapping.
const VCAL_GOID = 'BAAAAIIA4AB0xbcQGoLgCAAAAAAAAAAAAAAAAAAAAAAAAAAAMwAAAHZDYWwtVWlkAQAAAHs4MTQxMkQzQy0yQTI0LTRFOUQtQjIwRS0xMUY3QkJFOTI3OTl9AA==';
const VCAL_UID = '{81412D3C-2A24-4E9D-B20E-11F7BBE92799}';

test('GlobalObjId -> UID (MS-ASEMAIL 4.3 examples 1 and 2)', () => {
  assert.equal(uidFromGlobalObjId(OUTLOOK_GOID), OUTLOOK_UID);
  assert.equal(uidFromGlobalObjId(VCAL_GOID), VCAL_UID);
  assert.deepEqual(instanceDateOf(OUTLOOK_GOID), { year: 2004, month: 9, day: 16 });
  assert.equal(instanceDateOf(VCAL_GOID), undefined);
  assert.equal(uidFromGlobalObjId(Buffer.from('not a goid at all, long enough to have a header').toString('base64')), undefined);
});

test('UID -> GlobalObjId: the same bytes back, with or without an instance date', () => {
  assert.equal(globalObjIdFromUid(VCAL_UID), VCAL_GOID);
  assert.equal(globalObjIdFromUid(OUTLOOK_UID, { year: 2004, month: 9, day: 16 }), OUTLOOK_GOID);
  const series = globalObjIdFromUid(OUTLOOK_UID);
  assert.equal(uidFromGlobalObjId(series), OUTLOOK_UID);
  assert.equal(instanceDateOf(series), undefined);
  const google = 'abc123@google.com';
  assert.equal(uidFromGlobalObjId(globalObjIdFromUid(google, { year: 2026, month: 3, day: 23 })), google);
  assert.deepEqual(instanceDateOf(globalObjIdFromUid(google, { year: 2026, month: 3, day: 23 })), { year: 2026, month: 3, day: 23 });
});
