import { SUPPORTED_VERSIONS, type EasVersion } from './versions.ts';

/**
 * The ActiveSync commands: name, the code the base64 query form uses (MS-ASHTTP 2.2.1.1.1.1.2)
 * and the first protocol version that has the command (MS-ASCMD 2.2.1). Data, not code: the HTTP
 * layer, OPTIONS and the dispatcher all read this one table.
 */
export interface CommandInfo {
  name: string;
  code: number;
  since: EasVersion;
  /** Last version the command exists in, if it was withdrawn (GetAttachment after 14.1). */
  until?: EasVersion;
}

export const COMMANDS: readonly CommandInfo[] = [
  { name: 'Sync', code: 0, since: '12.0' },
  { name: 'SendMail', code: 1, since: '12.0' },
  { name: 'SmartForward', code: 2, since: '12.0' },
  { name: 'SmartReply', code: 3, since: '12.0' },
  { name: 'GetAttachment', code: 4, since: '12.0', until: '14.1' },
  { name: 'FolderSync', code: 9, since: '12.0' },
  { name: 'FolderCreate', code: 10, since: '12.0' },
  { name: 'FolderDelete', code: 11, since: '12.0' },
  { name: 'FolderUpdate', code: 12, since: '12.0' },
  { name: 'MoveItems', code: 13, since: '12.0' },
  { name: 'GetItemEstimate', code: 14, since: '12.0' },
  { name: 'MeetingResponse', code: 15, since: '12.0' },
  { name: 'Search', code: 16, since: '12.0' },
  { name: 'Settings', code: 17, since: '12.1' },
  { name: 'Ping', code: 18, since: '12.0' },
  { name: 'ItemOperations', code: 19, since: '12.0' },
  { name: 'Provision', code: 20, since: '12.0' },
  { name: 'ResolveRecipients', code: 21, since: '12.0' },
  { name: 'ValidateCert', code: 22, since: '12.0' },
  { name: 'Find', code: 23, since: '16.1' },
];

const BY_NAME = new Map(COMMANDS.map((c) => [c.name.toLowerCase(), c]));
const BY_CODE = new Map(COMMANDS.map((c) => [c.code, c]));

export function commandByName(name: string): CommandInfo | undefined {
  return BY_NAME.get(name.toLowerCase());
}

export function commandByCode(code: number): CommandInfo | undefined {
  return BY_CODE.get(code);
}

/** Headers that tell a client what easd speaks (MS-ASHTTP 2.2.2.1.2.3, 2.2.2.1.2.4). */
export const PROTOCOL_HEADERS = {
  'MS-ASProtocolVersions': SUPPORTED_VERSIONS.join(','),
  'MS-ASProtocolCommands': COMMANDS.map((c) => c.name).join(','),
  'MS-Server-ActiveSync': SUPPORTED_VERSIONS[SUPPORTED_VERSIONS.length - 1]!,
};
