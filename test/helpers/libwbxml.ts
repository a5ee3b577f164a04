/**
 * libwbxml (Debian package libwbxml2-utils) as an independent oracle for the WBXML codec.
 *
 * Runs its command-line tools on temporary files and cleans up after itself:
 *   xml2wbxml -n -v 1.3 -o out.wbxml in.xml        (XML text -> WBXML bytes)
 *   wbxml2xml -l ACTIVESYNC -m 0 -o out.xml in.wbxml  (WBXML bytes -> XML text)
 *
 * libwbxml 0.11.8's ActiveSync tables lag and differ from MS-ASWBXML in places (see
 * LIBWBXML_RENAMES below). Those differences are translated here, explicitly and only on
 * libwbxml's side: a vector written with the spec's names is rewritten into libwbxml's dialect
 * before xml2wbxml reads it, and wbxml2xml's output is rewritten back to the spec's names before
 * our parser reads it. Nothing on our codec's side is touched.
 *
 * Run scripts/ensure-test-deps.sh to install the tools.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** True when both libwbxml tools are on PATH. */
export function hasLibwbxml(): boolean {
  for (const tool of ['xml2wbxml', 'wbxml2xml']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return false;
    }
  }
  return true;
}

function withTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'easd-libwbxml-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function run(tool: string, args: string[], dir: string, output: string): Buffer {
  let log = '';
  try {
    // Both tools print "... succeeded"/"... failed" chatter; keep it only for error messages.
    log = execFileSync(tool, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 20_000 });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${tool} ${args.join(' ')} failed: ${(err.stderr || err.stdout || err.message).trim()}`);
  }
  // wbxml2xml exits 0 even when it fails, so the output file is the real verdict.
  const out = join(dir, output);
  if (!existsSync(out)) throw new Error(`${tool} ${args.join(' ')} wrote no output: ${log.trim()}`);
  return readFileSync(out);
}

export interface Xml2WbxmlOptions {
  /** Let libwbxml build a string table (STR_T references); default false (-n, inline strings only). */
  stringTable?: boolean;
  /** -a: anonymous document, no public identifier string in the header; default false. */
  anonymous?: boolean;
}

/**
 * libwbxml's WBXML 1.3 encoding of an XML document. The document needs the ActiveSync DOCTYPE
 * (`<!DOCTYPE ActiveSync PUBLIC "-//MICROSOFT//DTD ActiveSync//EN" "http://www.microsoft.com/">`)
 * for xml2wbxml to pick its ActiveSync tables. Without -a the header carries the public id as a
 * string-table string (03 00 00 6A <len> "-//MICROSOFT//DTD ActiveSync//EN" 00 ...).
 */
export function xml2wbxml(xml: string, options: Xml2WbxmlOptions = {}): Buffer {
  return withTempDir((dir) => {
    writeFileSync(join(dir, 'in.xml'), xml, 'utf8');
    const args = ['-v', '1.3', '-o', 'out.wbxml'];
    if (!options.stringTable) args.unshift('-n');
    if (options.anonymous) args.unshift('-a');
    return run('xml2wbxml', [...args, 'in.xml'], dir, 'out.wbxml');
  });
}

/** libwbxml's XML rendering (compact, -m 0) of WBXML bytes, read with its ActiveSync tables. */
export function wbxml2xml(bytes: Uint8Array): string {
  return withTempDir((dir) => {
    writeFileSync(join(dir, 'in.wbxml'), bytes);
    return run('wbxml2xml', ['-l', 'ACTIVESYNC', '-m', '0', '-o', 'out.xml', 'in.wbxml'], dir, 'out.xml').toString('utf8');
  });
}

// ---------------------------------------------------------------------------------------------
// libwbxml's dialect of ActiveSync XML, and the translation to and from the spec's names.
// ---------------------------------------------------------------------------------------------

/**
 * Tags that libwbxml 0.11.8 spells differently from MS-ASWBXML, per code page (spec page names):
 * libwbxml's spelling -> the spec's spelling, both naming the same (page, token). Derived by
 * comparing libwbxml's sv_airsync_tag_table (src/wbxml_tables.c, 0.11.8) token by token with the
 * MS-ASWBXML code page tables (src/wbxml/codepages.ts). Used only to normalize libwbxml's side.
 */
export const LIBWBXML_RENAMES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  // Contacts: libwbxml keeps the pre-2.5 short address names.
  Contacts: {
    AssistantTelephoneNumber: 'AssistantPhoneNumber', // 0x07
    BusinessCity: 'BusinessAddressCity', // 0x0D
    BusinessCountry: 'BusinessAddressCountry', // 0x0E
    BusinessPostalCode: 'BusinessAddressPostalCode', // 0x0F
    BusinessState: 'BusinessAddressState', // 0x10
    BusinessStreet: 'BusinessAddressStreet', // 0x11
    HomeCity: 'HomeAddressCity', // 0x21
    HomeCountry: 'HomeAddressCountry', // 0x22
    HomePostalCode: 'HomeAddressPostalCode', // 0x23
    HomeState: 'HomeAddressState', // 0x24
    HomeStreet: 'HomeAddressStreet', // 0x25
    OtherCity: 'OtherAddressCity', // 0x2D
    OtherCountry: 'OtherAddressCountry', // 0x2E
    OtherPostalCode: 'OtherAddressPostalCode', // 0x2F
    OtherState: 'OtherAddressState', // 0x30
    OtherStreet: 'OtherAddressStreet', // 0x31
  },
  Email: {
    AttOId: 'Att0id', // 0x09 (the spec spells it with a zero)
    'Reply-To': 'ReplyTo', // 0x19
    DTStamp: 'DtStamp', // 0x1D
    Recurrence_Type: 'Type', // 0x29
    Recurrence_Until: 'Until', // 0x2A
    Recurrence_Occurrences: 'Occurrences', // 0x2B
    Recurrence_Interval: 'Interval', // 0x2C
    Recurrence_DayOfWeek: 'DayOfWeek', // 0x2D
    Recurrence_DayOfMonth: 'DayOfMonth', // 0x2E
    Recurrence_WeekOfMonth: 'WeekOfMonth', // 0x2F
    Recurrence_MonthOfYear: 'MonthOfYear', // 0x30
    FlagStatus: 'Status', // 0x3B
  },
  Calendar: {
    TimeZone: 'Timezone', // 0x05 (Email 0x33 is "TimeZone" in both)
    Attendee_Email: 'Email', // 0x09
    Attendee_Name: 'Name', // 0x0A
    DTStamp: 'DtStamp', // 0x11
    Exception_Deleted: 'Deleted', // 0x15
    Exception_StartTime: 'ExceptionStartTime', // 0x16
    Organizer_Email: 'OrganizerEmail', // 0x19
    Organizer_Name: 'OrganizerName', // 0x1A
    Recurrence_Type: 'Type', // 0x1C
    Recurrence_Until: 'Until', // 0x1D
    Recurrence_Occurrences: 'Occurrences', // 0x1E
    Recurrence_Interval: 'Interval', // 0x1F
    Recurrence_DayOfWeek: 'DayOfWeek', // 0x20
    Recurrence_DayOfMonth: 'DayOfMonth', // 0x21
    Recurrence_WeekOfMonth: 'WeekOfMonth', // 0x22
    Recurrence_MonthOfYear: 'MonthOfYear', // 0x23
    Attendee_Status: 'AttendeeStatus', // 0x29
    Attendee_Type: 'AttendeeType', // 0x2A
  },
  Tasks: {
    UTCDueDate: 'UtcDueDate', // 0x0D
    Recurrence_Type: 'Type', // 0x10
    Recurrence_Start: 'Start', // 0x11
    Recurrence_Until: 'Until', // 0x12
    Recurrence_Occurrences: 'Occurrences', // 0x13
    Recurrence_Interval: 'Interval', // 0x14
    Recurrence_DayOfMonth: 'DayOfMonth', // 0x15
    Recurrence_DayOfWeek: 'DayOfWeek', // 0x16
    Recurrence_WeekOfMonth: 'WeekOfMonth', // 0x17
    Recurrence_MonthOfYear: 'MonthOfYear', // 0x18
    Recurrence_Regenerate: 'Regenerate', // 0x19
    Recurrence_DeadOccur: 'DeadOccur', // 0x1A
    UTCStartDate: 'UtcStartDate', // 0x1F
  },
  Provision: {
    // 0x10: libwbxml lists both DeviceEncryptionEnabled and RequireStorageCardEncryption; it
    // reads either name when encoding but prints the first one when decoding.
    DeviceEncryptionEnabled: 'RequireStorageCardEncryption',
  },
  Settings: {
    SmtpAddress: 'SMTPAddress', // 0x1F
    ihsManagementInformation: 'RightsManagementInformation', // 0x2B (truncated in libwbxml)
  },
  ComposeMail: {
    MIME: 'Mime', // 0x10
    // 0x17/0x18: libwbxml (and Microsoft's protocol test suite) say ForwardeeName/ForwardeeEmail;
    // MS-ASCMD 2.2.3.78 names the children of Forwardee "Name" and "Email", as our tables do.
    ForwardeeName: 'Name',
    ForwardeeEmail: 'Email',
  },
  RightsManagement: {
    RMOwner: 'Owner', // 0x12
    RemoveRightsManagementDistribution: 'RemoveRightsManagementProtection', // 0x18
  },
};

/** The inverse table: the spec's spelling -> libwbxml's, per page. */
const SPEC_TO_LIBWBXML: Record<string, Record<string, string>> = Object.fromEntries(
  Object.entries(LIBWBXML_RENAMES).map(([page, m]) => [page, Object.fromEntries(Object.entries(m).map(([l, s]) => [s, l]))]),
);

/**
 * Code page namespaces libwbxml spells differently: it matches the namespace of an element
 * case-sensitively against its own list, where page 16 is "Gal:" (the spec: GAL).
 */
export const LIBWBXML_NAMESPACES: Readonly<Record<string, string>> = { GAL: 'Gal' };

/**
 * Tags whose content libwbxml carries as OPAQUE (WBXML_TAG_OPTION_BINARY in its table): it
 * base64-decodes their XML text into opaque bytes and prints opaque bytes back as base64 text.
 * Our XML form marks opaque content with opaque="base64", so that attribute is dropped on the way
 * into libwbxml and added on the way back for these tags.
 */
export const LIBWBXML_BINARY_TAGS: Readonly<Record<string, readonly string[]>> = {
  ResolveRecipients: ['Data'],
  Search: ['ConversationId'],
  GAL: ['Data'],
  AirSyncBase: ['Content'],
  ItemOperations: ['ConversationId'],
  ComposeMail: ['Mime'],
  Email2: ['ConversationId', 'ConversationIndex'],
};

/**
 * Code pages by lower-case spec name, covering all 26 pages so that namespaces resolve even
 * where a vector uses a page libwbxml lacks.
 */
const SPEC_PAGES = [
  'AirSync', 'Contacts', 'Email', 'AirNotify', 'Calendar', 'Move', 'GetItemEstimate', 'FolderHierarchy',
  'MeetingResponse', 'Tasks', 'ResolveRecipients', 'ValidateCert', 'Contacts2', 'Ping', 'Provision', 'Search',
  'GAL', 'AirSyncBase', 'Settings', 'DocumentLibrary', 'ItemOperations', 'ComposeMail', 'Email2', 'Notes',
  'RightsManagement', 'Find',
];
const SPEC_PAGE_BY_LOWER = new Map(SPEC_PAGES.map((p) => [p.toLowerCase(), p]));

/** Spec page name for a namespace URI such as "Gal:" or "AirSyncBase:". */
function pageOfUri(uri: string | undefined): string | undefined {
  if (uri === undefined) return undefined;
  const name = uri.endsWith(':') ? uri.slice(0, -1) : uri;
  return SPEC_PAGE_BY_LOWER.get(name.toLowerCase());
}

interface Scope {
  defaultNs: string | undefined;
  prefixes: Map<string, string>;
}

interface Attr {
  name: string;
  quote: string;
  value: string;
}

interface RewriteHooks {
  /** New local name for an element of the given (spec) page. */
  rename(page: string | undefined, local: string): string;
  /** Rewrites the attribute list of a start tag (after namespaces were resolved). */
  attrs(page: string | undefined, local: string, attrs: Attr[], selfClosing: boolean): Attr[];
}

const TOKEN_RE =
  /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<!DOCTYPE[^>]*>|<\?[\s\S]*?\?>|<(\/?)([A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/g;
const ATTR_RE = /([^\s=/>]+)\s*=\s*("([^"]*)"|'([^']*)')/g;

/**
 * Rewrites element names and attributes of an XML document without re-serializing it: a small
 * namespace-aware scan over its tags (enough for the vectors and for libwbxml's output; comments,
 * CDATA, the DOCTYPE and processing instructions pass through untouched).
 */
function rewriteXml(xml: string, hooks: RewriteHooks): string {
  const stack: Array<{ scope: Scope; page: string | undefined; qname: string; newQname: string }> = [];
  let scope: Scope = { defaultNs: undefined, prefixes: new Map() };
  return xml.replace(TOKEN_RE, (whole, slash: string | undefined, qname: string | undefined, attrText: string | undefined, selfClose: string | undefined) => {
    if (qname === undefined) return whole; // comment, CDATA, DOCTYPE, PI
    if (slash) {
      const open = stack.pop();
      if (!open || open.qname !== qname) throw new Error(`rewriteXml: unbalanced </${qname}>`);
      scope = stack.length ? stack[stack.length - 1]!.scope : { defaultNs: undefined, prefixes: new Map() };
      return `</${open.newQname}>`;
    }
    const attrs: Attr[] = [];
    for (const m of (attrText ?? '').matchAll(ATTR_RE)) {
      attrs.push({ name: m[1]!, quote: m[2]![0]!, value: m[3] ?? m[4] ?? '' });
    }
    const own: Scope = { defaultNs: scope.defaultNs, prefixes: new Map(scope.prefixes) };
    for (const a of attrs) {
      if (a.name === 'xmlns') own.defaultNs = a.value;
      else if (a.name.startsWith('xmlns:')) own.prefixes.set(a.name.slice(6), a.value);
    }
    const colon = qname.indexOf(':');
    const prefix = colon >= 0 ? qname.slice(0, colon) : undefined;
    const local = colon >= 0 ? qname.slice(colon + 1) : qname;
    const page = pageOfUri(prefix === undefined ? own.defaultNs : own.prefixes.get(prefix));
    const newLocal = hooks.rename(page, local);
    const newQname = prefix === undefined ? newLocal : `${prefix}:${newLocal}`;
    const newAttrs = hooks.attrs(page, local, attrs, Boolean(selfClose));
    const attrOut = newAttrs.map((a) => ` ${a.name}=${a.quote}${a.value}${a.quote}`).join('');
    if (selfClose) return `<${newQname}${attrOut}/>`;
    stack.push({ scope: own, page, qname, newQname });
    scope = own;
    return `<${newQname}${attrOut}>`;
  });
}

/**
 * Rewrites a vector (spec names, our XML form) into what xml2wbxml understands: libwbxml's tag
 * spellings, "Gal:" for the GAL namespace, and no opaque="base64" markers (libwbxml knows its
 * binary tags from its table).
 */
export function toLibwbxmlDialect(xml: string): string {
  return rewriteXml(xml, {
    rename: (page, local) => (page && SPEC_TO_LIBWBXML[page]?.[local]) || local,
    attrs: (_page, _local, attrs) =>
      attrs
        .filter((a) => a.name !== 'opaque')
        .map((a) => {
          if (a.name !== 'xmlns' && !a.name.startsWith('xmlns:')) return a;
          const page = pageOfUri(a.value);
          const lib = page && LIBWBXML_NAMESPACES[page];
          return lib ? { ...a, value: `${lib}:` } : a;
        }),
  });
}

/**
 * Rewrites wbxml2xml's output into the spec's names and our XML form: libwbxml's spellings become
 * the spec's, elements libwbxml treats as binary (printed as base64) get opaque="base64", and
 * raw carriage returns in text become character references.
 */
export function fromLibwbxmlDialect(xml: string): string {
  // wbxml2xml writes text bytes verbatim, a carriage return included, and an XML parser turns a
  // raw CR (or CR LF) into LF. In compact mode (-m 0) libwbxml writes no line breaks of its own,
  // so every raw CR in its output is text content: escape it so that it survives parsing.
  xml = xml.replace(/\r/g, '&#13;');
  return rewriteXml(xml, {
    rename: (page, local) => (page && LIBWBXML_RENAMES[page]?.[local]) || local,
    attrs: (page, local, attrs, selfClosing) => {
      const spec = (page && LIBWBXML_RENAMES[page]?.[local]) || local;
      // An empty element has no opaque content to mark (<Data/> stays an element without children).
      if (!selfClosing && page && LIBWBXML_BINARY_TAGS[page]?.includes(spec) && !attrs.some((a) => a.name === 'opaque')) {
        return [...attrs, { name: 'opaque', quote: '"', value: 'base64' }];
      }
      return attrs;
    },
  });
}
