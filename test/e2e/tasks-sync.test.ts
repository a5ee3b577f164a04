/**
 * Tasks through the device simulator, on SQLite and PostgreSQL: every element from one device to
 * another (12.1, 14.1, 16.1), completing an occurrence of a recurring task (MS-OXOTASK 3.1.4.6
 * done by the server), and bad input. Requests are built here from MS-ASTASK.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { User } from '../../src/store/types.ts';
import { child, childText, children, el, text, type WbxmlElement } from '../../src/wbxml/index.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Device } from './device.ts';

const ALICE = { email: 'alice@example.com', password: 'alice-password-1' };
const T = 'Tasks';
const BODY_TEXT = [el('AirSyncBase', 'BodyPreference', el('AirSyncBase', 'Type', 1))];

/** Every Tasks element, in schema order, for a protocol version. */
function fullTask(version: string, subject: string, complete: boolean): WbxmlElement {
  const v14 = version >= '14.0';
  const v141 = version >= '14.1';
  return el(
    'AirSync',
    'ApplicationData',
    el(T, 'Subject', subject),
    el('AirSyncBase', 'Body', el('AirSyncBase', 'Type', 1), el('AirSyncBase', 'Data', 'Cover sheet first.')),
    el(T, 'Importance', 2),
    el(T, 'UtcStartDate', '2026-11-02T08:00:00.000Z'),
    el(T, 'StartDate', '2026-11-02T00:00:00.000Z'),
    el(T, 'UtcDueDate', '2026-11-03T08:00:00.000Z'),
    el(T, 'DueDate', '2026-11-03T00:00:00.000Z'),
    el(T, 'Categories', el(T, 'Category', 'Business'), el(T, 'Category', 'Reports')),
    complete
      ? null
      : el(
          T,
          'Recurrence',
          el(T, 'Type', 3),
          el(T, 'Start', '2026-11-02T00:00:00.000Z'),
          el(T, 'Until', '2027-11-02T00:00:00.000Z'),
          el(T, 'Interval', 1),
          el(T, 'DayOfWeek', 2),
          el(T, 'WeekOfMonth', 1),
          el(T, 'Regenerate', 0),
          el(T, 'DeadOccur', 0),
          v14 ? el(T, 'CalendarType', 1) : null,
          v14 ? el(T, 'IsLeapMonth', 0) : null,
          v141 ? el(T, 'FirstDayOfWeek', 1) : null,
        ),
    el(T, 'Complete', complete ? 1 : 0),
    complete ? el(T, 'DateCompleted', '2026-11-03T10:00:00.000Z') : null,
    el(T, 'Sensitivity', 2),
    el(T, 'ReminderTime', '2026-11-03T07:00:00.000Z'),
    el(T, 'ReminderSet', 1),
    el(T, 'OrdinalDate', '2026-11-01T09:00:00.000Z'),
    el(T, 'SubOrdinalDate', '5000000000000000'),
  );
}

/** Element paths -> text, containers flattened ("Tasks:Recurrence/Tasks:Type"). */
function fields(e: WbxmlElement, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of children(e)) {
    const key = `${prefix}${c.ns}:${c.name}`;
    if (c.name === 'Body') out[key] = childText(c, 'Data', 'AirSyncBase') ?? '';
    else if (children(c).length) Object.assign(out, fields(c, `${key}/`));
    else out[key] = text(c) ?? '';
  }
  return out;
}

const add = (clientId: string, appData: WbxmlElement) => el('AirSync', 'Add', el('AirSync', 'ClientId', clientId), appData);
const statuses = (responses: WbxmlElement[]) => responses.map((r) => [r.name, childText(r, 'Status', 'AirSync')]);
const serverIdOf = (responses: WbxmlElement[], clientId: string) => childText(responses.find((r) => childText(r, 'ClientId', 'AirSync') === clientId)!, 'ServerId', 'AirSync')!;

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`tasks scenarios (${backend})`, () => {
    let server: TestServer;
    let alice: User;
    let n = 0;
    const device = async (version = '16.1') => {
      const d = new Device({ url: server.url, user: ALICE.email, password: ALICE.password, deviceId: `TSK${backend}${++n}`, deviceType: 'TestPhone', version });
      assert.equal((await d.folderSync()).status, 1);
      return d;
    };

    before(async () => {
      server = await startTestServer({ users: [ALICE], backend, logLevel: 'warn' });
      alice = server.users.get(ALICE.email)!;
    });
    after(async () => server.close());

    for (const version of ['12.1', '14.1', '16.1']) {
      it(`every element goes device A -> server -> device B unchanged (${version})`, async () => {
        const a = await device(version);
        const b = await device(version);
        const id = a.folderByType(7).serverId;
        await a.initialSync(id, { options: BODY_TEXT });
        await b.initialSync(id, { options: BODY_TEXT });
        const recurring = fullTask(version, `Monthly report ${version}`, false);
        const done = fullTask(version, `Filed report ${version}`, true);
        const r = await a.sync(id, { commands: [add('t-1', recurring), add('t-2', done)], options: BODY_TEXT });
        assert.deepEqual(statuses(r.responses), [['Add', '1'], ['Add', '1']]);
        const got = await b.sync(id, { options: BODY_TEXT });
        const bySubject = new Map(got.adds.map((x) => [childText(x.appData, 'Subject', T), x.appData]));
        assert.deepEqual(fields(bySubject.get(`Monthly report ${version}`)!), fields(recurring));
        assert.deepEqual(fields(bySubject.get(`Filed report ${version}`)!), fields(done));
      });
    }

    it('completing an occurrence of a recurring task: a completed copy, and the series moves on (MS-OXOTASK 3.1.4.6)', async () => {
      const a = await device('16.1');
      const b = await device('14.1');
      const id = a.folderByType(7).serverId;
      await a.initialSync(id);
      await b.initialSync(id);
      const weekly = (complete: boolean) =>
        el(
          'AirSync',
          'ApplicationData',
          el(T, 'Subject', 'Water the plants'),
          el(T, 'UtcStartDate', '2026-11-05T08:00:00.000Z'),
          el(T, 'StartDate', '2026-11-05T00:00:00.000Z'),
          el(T, 'UtcDueDate', '2026-11-05T08:00:00.000Z'),
          el(T, 'DueDate', '2026-11-05T00:00:00.000Z'),
          // Weekly on Thursdays, five times.
          el(T, 'Recurrence', el(T, 'Type', 1), el(T, 'Start', '2026-11-05T00:00:00.000Z'), el(T, 'Occurrences', 5), el(T, 'Interval', 1), el(T, 'DayOfWeek', 16), el(T, 'DeadOccur', complete ? 1 : 0)),
          el(T, 'Complete', complete ? 1 : 0),
          complete ? el(T, 'DateCompleted', '2026-11-05T18:00:00.000Z') : null,
        );
      const r = await a.sync(id, { commands: [add('w-1', weekly(false))] });
      const serverId = serverIdOf(r.responses, 'w-1');
      assert.equal((await b.sync(id)).adds.length, 1);

      const done = await a.sync(id, { commands: [el('AirSync', 'Change', el('AirSync', 'ServerId', serverId), weekly(true))] });
      assert.equal(done.responses.length, 0, 'a successful Change is not answered');
      for (const [who, got] of [['A', done], ['B', await b.sync(id)]] as const) {
        assert.equal(got.adds.length, 1, `${who}: the completed occurrence arrives as a task of its own`);
        const copy = got.adds[0]!.appData;
        assert.equal(childText(copy, 'Complete', T), '1');
        assert.equal(childText(copy, 'DateCompleted', T), '2026-11-05T18:00:00.000Z');
        assert.equal(childText(copy, 'DueDate', T), '2026-11-05T00:00:00.000Z');
        assert.equal(childText(child(copy, 'Recurrence', T)!, 'DeadOccur', T), '1', 'a dead instance of the series');
        assert.equal(childText(child(copy, 'Recurrence', T)!, 'Start', T), '2026-11-05T00:00:00.000Z');
        assert.deepEqual(got.changes.map((x) => x.serverId), [serverId], `${who}: the series is sent again`);
        const series = got.changes[0]!.appData;
        assert.equal(childText(series, 'Complete', T), '0');
        assert.equal(childText(series, 'StartDate', T), '2026-11-12T00:00:00.000Z');
        assert.equal(childText(series, 'UtcDueDate', T), '2026-11-12T08:00:00.000Z');
        assert.equal(childText(child(series, 'Recurrence', T)!, 'Occurrences', T), '4');
        assert.equal(childText(child(series, 'Recurrence', T)!, 'DeadOccur', T), '0');
      }
      const live = (await server.store.listChangesSince(alice.id, (await server.store.getFolderByServerId(alice.id, id))!.id, 0, 1000)).filter((i) => !i.deleted);
      assert.equal(live.filter((i) => i.data.subject === 'Water the plants').length, 2);
    });

    it('bad input: a date that is not a date is left out, the task kept (issue 14 item 9); a due date before the start or an unknown recurrence gets Status 6', async () => {
      const a = await device('14.1');
      const id = a.folderByType(7).serverId;
      await a.initialSync(id);
      const folderId = (await server.store.getFolderByServerId(alice.id, id))!.id;
      const count = async () => (await server.store.listChangesSince(alice.id, folderId, 0, 1000)).filter((i) => !i.deleted).length;
      const before = await count();
      const task = (...kids: WbxmlElement[]) => el('AirSync', 'ApplicationData', el(T, 'Subject', 'x'), ...kids, el(T, 'Complete', 0));
      const r = await a.sync(id, {
        commands: [
          add('b-1', task(el(T, 'DueDate', '2026-02-30T00:00:00.000Z'))),
          add('b-2', task(el(T, 'UtcDueDate', 'next week'))),
          add('b-3', task(el(T, 'StartDate', '2026-11-05T00:00:00.000Z'), el(T, 'DueDate', '2026-11-04T00:00:00.000Z'))),
          add('b-4', task(el(T, 'Recurrence', el(T, 'Type', 4), el(T, 'Start', '2026-11-05T00:00:00.000Z')))),
          add('b-5', task()),
        ],
      });
      assert.deepEqual(statuses(r.responses), [['Add', '1'], ['Add', '1'], ['Add', '6'], ['Add', '6'], ['Add', '1']]);
      assert.equal(await count(), before + 3);
    });
  });
}
