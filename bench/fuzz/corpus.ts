/**
 * Valid ActiveSync requests of every command (MS-ASCMD 2.2.1), the fuzzer's starting points.
 * Each template builds a request for one device from what that device knows (its collections,
 * sync keys and item ids, updated from the answers to its unmutated requests); mutate.ts then
 * damages it. Ids of the other user are in `foreign` so that mutations try to reach them.
 */
import { el, type WbxmlElement } from '../../src/wbxml/index.ts';
import { mime } from './messages.ts';
import type { Rng } from './rng.ts';

export interface DeviceState {
  deviceId: string;
  deviceType: string;
  email: string;
  password: string;
  other: string;
  folderSyncKey: string;
  /** Collection ids by role (inbox, calendar, contacts, tasks, notes, drafts, sent, deleted). */
  folders: Record<string, string>;
  syncKeys: Map<string, string>;
  /** Item server ids seen in answers (capped). */
  items: string[];
  /** Attachment file references seen in answers (capped). */
  fileRefs: string[];
  /** The other user's collection and item ids (never reachable). */
  foreign: string[];
  policyKey?: string;
}

export interface EasRequest {
  cmd: string;
  /** A WBXML tree, raw bytes (SendMail MIME in 12.x), or nothing. */
  body?: WbxmlElement | Buffer;
  contentType?: string;
  params?: { collectionId?: string; itemId?: string; attachmentName?: string; saveInSent?: boolean; longId?: string; occurrence?: string };
  version?: string;
}

type Template = (r: Rng, s: DeviceState) => EasRequest;

const folder = (r: Rng, s: DeviceState, roles = ['inbox', 'calendar', 'contacts', 'tasks', 'notes']) => {
  const role = r.pick(roles);
  return s.folders[role] ?? '1';
};
const item = (r: Rng, s: DeviceState) => (s.items.length > 0 && r.chance(0.9) ? r.pick(s.items) : `${r.int(50)}:${r.int(50)}`);
const key = (s: DeviceState, id: string) => s.syncKeys.get(id) ?? '0';

function appData(r: Rng, s: DeviceState, role: string): WbxmlElement {
  switch (role) {
    case 'calendar':
      return el('AirSync', 'ApplicationData',
        el('Calendar', 'Timezone', 'xP///wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=='),
        el('Calendar', 'DtStamp', '20261208T100000Z'),
        el('Calendar', 'StartTime', `202612${10 + r.int(18)}T090000Z`),
        el('Calendar', 'EndTime', `202612${10 + r.int(18)}T100000Z`),
        el('Calendar', 'Subject', 'fuzz event'),
        el('Calendar', 'BusyStatus', String(r.int(5))),
        el('Calendar', 'Sensitivity', '0'),
        r.chance(0.3) && el('Calendar', 'Recurrence', el('Calendar', 'Type', String(r.int(7))), el('Calendar', 'Interval', '1'), el('Calendar', 'Occurrences', '5')),
        r.chance(0.3) && el('Calendar', 'Attendees', el('Calendar', 'Attendee', el('Calendar', 'Email', s.other), el('Calendar', 'Name', 'Other'))),
        el('AirSyncBase', 'Body', el('AirSyncBase', 'Type', '1'), el('AirSyncBase', 'Data', 'body text')),
      );
    case 'contacts':
      return el('AirSync', 'ApplicationData',
        el('Contacts', 'FirstName', 'Fuzz'),
        el('Contacts', 'LastName', `Contact${r.int(100)}`),
        el('Contacts', 'Email1Address', `c${r.int(100)}@example.net`),
        el('Contacts', 'MobilePhoneNumber', '+1 555 0100'),
        r.chance(0.3) && el('Contacts', 'Birthday', '1980-04-12T00:00:00.000Z'),
        r.chance(0.2) && el('Contacts', 'Picture', 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=='),
        r.chance(0.3) && el('Contacts', 'Categories', el('Contacts', 'Category', 'work')),
      );
    case 'tasks':
      return el('AirSync', 'ApplicationData',
        el('Tasks', 'Subject', 'fuzz task'),
        el('Tasks', 'Importance', String(r.int(3))),
        el('Tasks', 'Complete', String(r.int(2))),
        r.chance(0.5) && el('Tasks', 'DueDate', '2026-12-20T00:00:00.000Z'),
        r.chance(0.5) && el('Tasks', 'UtcDueDate', '2026-12-20T00:00:00.000Z'),
      );
    case 'notes':
      return el('AirSync', 'ApplicationData', el('Notes', 'Subject', 'fuzz note'), el('AirSyncBase', 'Body', el('AirSyncBase', 'Type', '1'), el('AirSyncBase', 'Data', 'note body')));
    default:
      // A change of a mail: read flag and follow-up flag (MS-ASEMAIL 2.2.2.27, 2.2.2.50).
      return el('AirSync', 'ApplicationData', el('Email', 'Read', String(r.int(2))), r.chance(0.5) && el('Email', 'Flag', el('Email', 'Status', String(r.int(3)))));
  }
}

const sync: Template = (r, s) => {
  const role = r.pick(['inbox', 'calendar', 'contacts', 'tasks', 'notes', 'drafts']);
  const id = s.folders[role] ?? '1';
  const sk = key(s, id);
  const commands: WbxmlElement[] = [];
  if (sk !== '0' && r.chance(0.5)) {
    const op = r.pick(['Add', 'Change', 'Delete', 'Fetch']);
    if (op === 'Add') commands.push(el('AirSync', 'Add', el('AirSync', 'ClientId', String(r.int(1e6))), appData(r, s, role)));
    else if (op === 'Change') commands.push(el('AirSync', 'Change', el('AirSync', 'ServerId', item(r, s)), appData(r, s, role)));
    else commands.push(el('AirSync', op, el('AirSync', 'ServerId', item(r, s))));
  }
  const options = el('AirSync', 'Options',
    role === 'inbox' && el('AirSync', 'FilterType', String(r.int(8))),
    el('AirSyncBase', 'BodyPreference', el('AirSyncBase', 'Type', String(r.pick([1, 2, 4]))), el('AirSyncBase', 'TruncationSize', String(r.pick([0, 200, 5120, 32768])))),
    r.chance(0.3) && el('AirSync', 'MIMESupport', '2'),
  );
  const collection = el('AirSync', 'Collection',
    el('AirSync', 'SyncKey', sk),
    el('AirSync', 'CollectionId', id),
    sk !== '0' && el('AirSync', 'GetChanges'),
    el('AirSync', 'WindowSize', String(r.pick([1, 5, 25, 100]))),
    sk !== '0' && options,
    commands.length > 0 && el('AirSync', 'Commands', ...commands),
  );
  // Wait / HeartbeatInterval make a held Sync (MS-ASCMD 2.2.3.194, 2.2.3.79.2); short ones only.
  const held = r.chance(0.05) ? (r.chance(0.5) ? el('AirSync', 'Wait', '1') : el('AirSync', 'HeartbeatInterval', '60')) : false;
  return { cmd: 'Sync', body: el('AirSync', 'Sync', el('AirSync', 'Collections', collection), held, r.chance(0.2) && el('AirSync', 'WindowSize', '50')) };
};

const templates: Record<string, Template> = {
  Sync: sync,
  FolderSync: (r, s) => ({ cmd: 'FolderSync', body: el('FolderHierarchy', 'FolderSync', el('FolderHierarchy', 'SyncKey', r.chance(0.3) ? '0' : s.folderSyncKey)) }),
  FolderCreate: (r, s) => ({
    cmd: 'FolderCreate',
    body: el('FolderHierarchy', 'FolderCreate', el('FolderHierarchy', 'SyncKey', s.folderSyncKey), el('FolderHierarchy', 'ParentId', r.chance(0.5) ? '0' : folder(r, s)), el('FolderHierarchy', 'DisplayName', `fuzz ${r.int(1000)}`), el('FolderHierarchy', 'Type', String(r.pick([1, 12, 13, 14, 15, 17])))),
  }),
  FolderUpdate: (r, s) => ({
    cmd: 'FolderUpdate',
    body: el('FolderHierarchy', 'FolderUpdate', el('FolderHierarchy', 'SyncKey', s.folderSyncKey), el('FolderHierarchy', 'ServerId', folder(r, s)), el('FolderHierarchy', 'ParentId', '0'), el('FolderHierarchy', 'DisplayName', `renamed ${r.int(1000)}`)),
  }),
  FolderDelete: (r, s) => ({ cmd: 'FolderDelete', body: el('FolderHierarchy', 'FolderDelete', el('FolderHierarchy', 'SyncKey', s.folderSyncKey), el('FolderHierarchy', 'ServerId', String(r.range(1, 40)))) }),
  GetItemEstimate: (r, s) => {
    const id = folder(r, s);
    return { cmd: 'GetItemEstimate', body: el('GetItemEstimate', 'GetItemEstimate', el('GetItemEstimate', 'Collections', el('GetItemEstimate', 'Collection', el('AirSync', 'SyncKey', key(s, id)), el('GetItemEstimate', 'CollectionId', id), el('AirSync', 'Options', el('AirSync', 'FilterType', '0'))))) };
  },
  MoveItems: (r, s) => ({ cmd: 'MoveItems', body: el('Move', 'MoveItems', el('Move', 'Move', el('Move', 'SrcMsgId', item(r, s)), el('Move', 'SrcFldId', folder(r, s, ['inbox'])), el('Move', 'DstFldId', folder(r, s, ['deleted', 'drafts', 'inbox'])))) }),
  MeetingResponse: (r, s) => ({
    cmd: 'MeetingResponse',
    body: el('MeetingResponse', 'MeetingResponse', el('MeetingResponse', 'Request', el('MeetingResponse', 'UserResponse', String(r.range(1, 3))), el('MeetingResponse', 'CollectionId', folder(r, s, ['inbox', 'calendar'])), el('MeetingResponse', 'RequestId', item(r, s)))),
  }),
  Search: (r, s) => {
    const store = r.pick(['Mailbox', 'GAL', 'DocumentLibrary']);
    const query =
      store === 'Mailbox'
        ? el('Search', 'Query', el('Search', 'And', el('AirSync', 'CollectionId', folder(r, s, ['inbox'])), el('Search', 'FreeText', r.pick(['meeting', 'report', 'x'])), r.chance(0.3) && el('Search', 'GreaterThan', el('Email', 'DateReceived'), el('Search', 'Value', '2026-01-01T00:00:00.000Z'))))
        : el('Search', 'Query', r.pick(['a', 'Other', 'b@', 'fuzz']));
    return { cmd: 'Search', body: el('Search', 'Search', el('Search', 'Store', el('Search', 'Name', store), query, el('Search', 'Options', el('Search', 'Range', r.pick(['0-9', '0-99', '5-2'])), store === 'Mailbox' && el('Search', 'DeepTraversal')))) };
  },
  Settings: (r, s) => ({
    cmd: 'Settings',
    body: el('Settings', 'Settings',
      r.pick([
        el('Settings', 'Oof', el('Settings', 'Get', el('Settings', 'BodyType', 'Text'))),
        el('Settings', 'Oof', el('Settings', 'Set', el('Settings', 'OofState', String(r.int(3))), el('Settings', 'OofMessage', el('Settings', 'AppliesToInternal'), el('Settings', 'Enabled', '1'), el('Settings', 'ReplyMessage', 'away'), el('Settings', 'BodyType', 'Text')))),
        el('Settings', 'DeviceInformation', el('Settings', 'Set', el('Settings', 'Model', 'Fuzz'), el('Settings', 'OS', 'FuzzOS 1'), el('Settings', 'FriendlyName', 'fuzzer'))),
        el('Settings', 'UserInformation', el('Settings', 'Get')),
        el('Settings', 'DevicePassword', el('Settings', 'Set', el('Settings', 'Password', 'x'))),
      ]),
    ),
  }),
  Ping: (r, s) => ({
    cmd: 'Ping',
    body: r.chance(0.2) ? undefined : el('Ping', 'Ping', el('Ping', 'HeartbeatInterval', String(r.pick([60, 480, 3540]))), el('Ping', 'Folders', el('Ping', 'Folder', el('Ping', 'Id', folder(r, s)), el('Ping', 'Class', r.pick(['Email', 'Calendar', 'Contacts']))))),
  }),
  ItemOperations: (r, s) => ({
    cmd: 'ItemOperations',
    body: el('ItemOperations', 'ItemOperations',
      r.pick([
        el('ItemOperations', 'Fetch', el('ItemOperations', 'Store', 'Mailbox'), el('AirSync', 'CollectionId', folder(r, s, ['inbox'])), el('AirSync', 'ServerId', item(r, s)), el('ItemOperations', 'Options', el('AirSyncBase', 'BodyPreference', el('AirSyncBase', 'Type', '4')))),
        el('ItemOperations', 'Fetch', el('ItemOperations', 'Store', 'Mailbox'), el('AirSyncBase', 'FileReference', s.fileRefs.length ? r.pick(s.fileRefs) : `${item(r, s)}:1`)),
        el('ItemOperations', 'EmptyFolderContents', el('AirSync', 'CollectionId', folder(r, s, ['deleted'])), el('ItemOperations', 'Options', el('ItemOperations', 'DeleteSubFolders'))),
        el('ItemOperations', 'Move', el('ItemOperations', 'ConversationId', 'AAAA'), el('ItemOperations', 'DstFldId', folder(r, s, ['deleted']))),
      ]),
    ),
  }),
  Provision: (r, s) => ({
    cmd: 'Provision',
    body: el('Provision', 'Provision',
      r.chance(0.5) && el('Settings', 'DeviceInformation', el('Settings', 'Set', el('Settings', 'Model', 'Fuzz'))),
      el('Provision', 'Policies', el('Provision', 'Policy', el('Provision', 'PolicyType', 'MS-EAS-Provisioning-WBXML'), r.chance(0.5) && el('Provision', 'PolicyKey', s.policyKey ?? '0'), r.chance(0.5) && el('Provision', 'Status', '1'))),
      r.chance(0.1) && el('Provision', 'RemoteWipe', el('Provision', 'Status', '1')),
    ),
  }),
  ResolveRecipients: (r, s) => ({
    cmd: 'ResolveRecipients',
    body: el('ResolveRecipients', 'ResolveRecipients',
      el('ResolveRecipients', 'To', r.pick([s.other, s.email, 'Oth', 'nobody@example.net'])),
      el('ResolveRecipients', 'Options',
        el('ResolveRecipients', 'CertificateRetrieval', String(r.range(1, 3))),
        el('ResolveRecipients', 'MaxAmbiguousRecipients', String(r.int(20))),
        r.chance(0.5) && el('ResolveRecipients', 'Availability', el('ResolveRecipients', 'StartTime', '2026-12-08T00:00:00.000Z'), el('ResolveRecipients', 'EndTime', r.pick(['2026-12-09T00:00:00.000Z', '2027-12-09T00:00:00.000Z']))),
        r.chance(0.3) && el('ResolveRecipients', 'Picture', el('ResolveRecipients', 'MaxSize', '10000')),
      ),
    ),
  }),
  ValidateCert: (r) => ({ cmd: 'ValidateCert', body: el('ValidateCert', 'ValidateCert', el('ValidateCert', 'Certificates', el('ValidateCert', 'Certificate', r.bytes(r.range(0, 300)).toString('base64'))), el('ValidateCert', 'CheckCRL', '1')) }),
  Find: (r, s) => ({
    cmd: 'Find',
    version: '16.1',
    body: el('Find', 'Find', el('Find', 'SearchId', String(r.int(1e6))), el('Find', 'ExecuteSearch',
      r.chance(0.5)
        ? el('Find', 'MailBoxSearchCriterion', el('Find', 'Query', el('Find', 'FreeText', 'meeting'), el('AirSync', 'Class', 'Email'), el('AirSync', 'CollectionId', folder(r, s, ['inbox']))), el('Find', 'Options', el('Find', 'Range', '0-9'), el('Find', 'DeepTraversal')))
        : el('Find', 'GalSearchCriterion', el('Find', 'Query', el('Find', 'FreeText', r.pick(['Oth', 'a', 'zz']))), el('Find', 'Options', el('Find', 'Range', '0-9'))),
    )),
  }),
  SendMail: (r, s) => {
    const m = Buffer.from(mime(r, s.email, r.chance(0.8) ? s.email : s.other));
    // 12.x: the MIME is the body (message/rfc822); 14.0+: ComposeMail WBXML (MS-ASCMD 2.2.1.17).
    if (r.chance(0.3)) return { cmd: 'SendMail', version: '12.1', body: m, contentType: 'message/rfc822', params: { saveInSent: r.chance(0.5) } };
    return { cmd: 'SendMail', body: el('ComposeMail', 'SendMail', el('ComposeMail', 'ClientId', String(r.int(1e9))), r.chance(0.5) && el('ComposeMail', 'SaveInSentItems'), el('ComposeMail', 'Mime', new Uint8Array(m))) };
  },
  SmartReply: (r, s) => smart('SmartReply', r, s),
  SmartForward: (r, s) => smart('SmartForward', r, s),
  GetAttachment: (r, s) => ({ cmd: 'GetAttachment', version: '14.1', params: { attachmentName: s.fileRefs.length ? r.pick(s.fileRefs) : `${item(r, s)}:1` } }),
};

function smart(cmd: 'SmartReply' | 'SmartForward', r: Rng, s: DeviceState): EasRequest {
  const m = Buffer.from(mime(r, s.email, s.email));
  if (r.chance(0.3)) return { cmd, version: '12.1', body: m, contentType: 'message/rfc822', params: { itemId: item(r, s), collectionId: folder(r, s, ['inbox']) } };
  return {
    cmd,
    body: el('ComposeMail', cmd, el('ComposeMail', 'ClientId', String(r.int(1e9))), el('ComposeMail', 'Source', el('ComposeMail', 'FolderId', folder(r, s, ['inbox', 'calendar'])), el('ComposeMail', 'ItemId', item(r, s))), r.chance(0.3) && el('ComposeMail', 'ReplaceMime'), el('ComposeMail', 'Mime', new Uint8Array(m))),
  };
}

export const COMMAND_NAMES = Object.keys(templates);

/** Weights: the commands phones send most, most often. */
const WEIGHTS: ReadonlyArray<readonly [number, string]> = COMMAND_NAMES.map((c) => [c === 'Sync' ? 8 : c === 'FolderSync' || c === 'ItemOperations' ? 3 : c === 'Ping' ? 1 : 2, c] as const);

export function easTemplate(r: Rng, s: DeviceState): EasRequest {
  return templates[r.weighted(WEIGHTS)]!(r, s);
}
