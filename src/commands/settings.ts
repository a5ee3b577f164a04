/**
 * Settings (MS-ASCMD 2.2.1.18): out-of-office Get/Set, the device recovery password, device
 * information, the user's addresses, and rights-management templates. Each property element of
 * the request gets its own element with its own Status in the response, in request order.
 *
 * Status values (MS-ASCMD 2.2.3.177.15 Status (Settings)), top level and per property:
 *   1 success;
 *   2 protocol error: the request is not a Settings element or names no property; a property
 *     without its Get/Set; an OofMessage naming no or several audiences; RightsManagementInformation
 *     before 14.1;
 *   3 access denied: not used (every user may change their own settings);
 *   4 server unavailable: a store failure while handling a property (top level too);
 *   5 invalid arguments: a value out of its range (OofState, Enabled, BodyType, a dateTime, a
 *     recovery password over 255 characters, a DeviceInformation field over 1024, an
 *     EnableOutboundSMS other than 0 or 1);
 *   6 conflicting arguments: OofState 2 without StartTime and EndTime, or EndTime not after
 *     StartTime;
 *   7 denied by policy: DevicePassword when the user's policy does not enable password recovery
 *     (MS-ASPROV PasswordRecoveryEnabled, off by default).
 *
 * Oof: see src/settings/oof.ts. The settings are the user's (one per mailbox, whatever device
 * sets them) and saving them starts a new automatic-reply period (src/settings/auto-reply.ts).
 * DevicePassword Set (2.2.3.46): the recovery password a device escrows for its owner, kept as
 * device data 'devicePassword' (readable by the administrator, as Exchange shows it to the user;
 * it is the device's unlock code, not the account password); an empty one clears it.
 * DeviceInformation Set: device data 'deviceInformation' in the shape of
 * src/devices/device-information.ts (element names as keys), which Provision also writes and the
 * device administration and access rules read.
 * UserInformation Get (2.2.3.192): the primary address and aliases; before 14.1 as
 * EmailAddresses/SMTPAddress, from 14.1 inside Accounts/Account with UserDisplayName and
 * PrimarySmtpAddress.
 * RightsManagementInformation Get (14.1+): easd holds no IRM templates, so an empty
 * RightsManagementTemplates element.
 */
import { userAddresses } from '../directory/addresses.ts';
import { versionNumber } from '../eas/versions.ts';
import { DEVICE_INFORMATION, parseDeviceInformation } from '../devices/device-information.ts';
import { applyOofSet, oofGetElement, OofRequestError, parseBodyType } from '../settings/oof.ts';
import { child, children, el, text, type WbxmlElement } from '../wbxml/tree.ts';
import type { CommandContext, CommandHandler, CommandResult } from './types.ts';

const NS = 'Settings';

export const SettingsStatus = {
  Success: 1,
  ProtocolError: 2,
  AccessDenied: 3,
  ServerUnavailable: 4,
  InvalidArguments: 5,
  ConflictingArguments: 6,
  DeniedByPolicy: 7,
} as const;

/** Longest recovery password (MS-ASCMD 2.2.3.130.2: 255 characters). */
const MAX_DEVICE_PASSWORD = 255;
/** Longest DeviceInformation value accepted (what src/devices/device-information.ts keeps). */
const MAX_DEVICE_FIELD = 1024;
/** Device data name of the recovery password. */
export const DEVICE_PASSWORD = 'devicePassword';

class PropertyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const PROPERTIES = ['Oof', 'DevicePassword', 'DeviceInformation', 'UserInformation', 'RightsManagementInformation'] as const;

type Handler = (ctx: CommandContext, prop: WbxmlElement) => Promise<WbxmlElement | null>;

/** Get and Set children of a property; exactly one is expected. */
function operation(prop: WbxmlElement, allowed: readonly ('Get' | 'Set')[]): { op: 'Get' | 'Set'; el: WbxmlElement } {
  const ops = children(prop).filter((c) => c.ns === NS && (c.name === 'Get' || c.name === 'Set'));
  if (ops.length !== 1 || !allowed.includes(ops[0]!.name as 'Get' | 'Set')) {
    throw new PropertyError(SettingsStatus.ProtocolError, `${prop.name} takes one of ${allowed.join('/')}`);
  }
  return { op: ops[0]!.name as 'Get' | 'Set', el: ops[0]! };
}

const oof: Handler = async (ctx, prop) => {
  const { op, el: body } = operation(prop, ['Get', 'Set']);
  const directory = ctx.accounts.directory;
  if (op === 'Get') {
    const bt = text(child(body, 'BodyType', NS));
    const bodyType = bt === undefined ? 'text' : parseBodyType(bt);
    if (!bodyType) throw new PropertyError(SettingsStatus.InvalidArguments, `BodyType ${bt} is not Text or HTML`);
    return oofGetElement(await directory.getOof(ctx.user.id), bodyType);
  }
  let next;
  try {
    next = applyOofSet(await directory.getOof(ctx.user.id), body);
  } catch (err) {
    if (!(err instanceof OofRequestError)) throw err;
    const status = { protocol: SettingsStatus.ProtocolError, invalid: SettingsStatus.InvalidArguments, conflicting: SettingsStatus.ConflictingArguments }[err.kind];
    throw new PropertyError(status, err.message);
  }
  await directory.putOof(ctx.user.id, next);
  ctx.log.info({ oof: next.state }, 'out-of-office settings changed');
  return null;
};

const devicePassword: Handler = async (ctx, prop) => {
  const { el: set } = operation(prop, ['Set']);
  const pw = child(set, 'Password', NS);
  if (!pw) throw new PropertyError(SettingsStatus.ProtocolError, 'DevicePassword Set without Password');
  const password = text(pw) ?? '';
  if (password.length > MAX_DEVICE_PASSWORD) throw new PropertyError(SettingsStatus.InvalidArguments, `Password is longer than ${MAX_DEVICE_PASSWORD}`);
  // MS-ASPROV 2.2.2.39: with PasswordRecoveryEnabled off the server does not keep recovery
  // passwords; a device that sends one anyway is denied by policy.
  const policy = await ctx.services.devices.policyFor(ctx.user);
  if (policy.settings.PasswordRecoveryEnabled !== true) {
    throw new PropertyError(SettingsStatus.DeniedByPolicy, `policy ${policy.name} does not enable password recovery`);
  }
  // An empty Password clears the stored one (2.2.3.130.2).
  await ctx.deviceState.putDeviceData(ctx.user.id, ctx.device.deviceId, DEVICE_PASSWORD, { password: password === '' ? null : password, setAt: new Date().toISOString() });
  return null;
};

const deviceInformation: Handler = async (ctx, prop) => {
  const { el: set } = operation(prop, ['Set']);
  for (const c of children(set)) {
    const v = text(c) ?? '';
    if (v.length > MAX_DEVICE_FIELD) throw new PropertyError(SettingsStatus.InvalidArguments, `${c.name} is longer than ${MAX_DEVICE_FIELD}`);
    if (c.name === 'EnableOutboundSMS' && v.trim() !== '0' && v.trim() !== '1') {
      throw new PropertyError(SettingsStatus.InvalidArguments, 'EnableOutboundSMS is not 0 or 1');
    }
  }
  // The shape Provision also stores and the device administration and access rules read
  // (src/devices/device-information.ts); access by model or OS is decided again on the next request.
  await ctx.deviceState.putDeviceData(ctx.user.id, ctx.device.deviceId, DEVICE_INFORMATION, parseDeviceInformation(prop));
  ctx.services.devices.invalidate(ctx.user.id, ctx.device.deviceId);
  return null;
};

const userInformation: Handler = async (ctx, prop) => {
  operation(prop, ['Get']);
  const addresses = await userAddresses(ctx.accounts, ctx.user);
  const smtp = addresses.map((a) => el(NS, 'SMTPAddress', a));
  if (versionNumber(ctx.version) < 141) return el(NS, 'Get', el(NS, 'EmailAddresses', smtp));
  return el(
    NS,
    'Get',
    el(
      NS,
      'Accounts',
      el(
        NS,
        'Account',
        ctx.user.displayName ? el(NS, 'UserDisplayName', ctx.user.displayName) : null,
        el(NS, 'EmailAddresses', smtp, el(NS, 'PrimarySmtpAddress', ctx.user.email)),
      ),
    ),
  );
};

const rightsManagementInformation: Handler = async (ctx, prop) => {
  if (versionNumber(ctx.version) < 141) throw new PropertyError(SettingsStatus.ProtocolError, 'RightsManagementInformation needs 14.1');
  operation(prop, ['Get']);
  return el(NS, 'Get', el('RightsManagement', 'RightsManagementTemplates'));
};

const HANDLERS: Record<(typeof PROPERTIES)[number], Handler> = {
  Oof: oof,
  DevicePassword: devicePassword,
  DeviceInformation: deviceInformation,
  UserInformation: userInformation,
  RightsManagementInformation: rightsManagementInformation,
};

export const settings: CommandHandler = async (ctx): Promise<CommandResult> => {
  const req = ctx.request;
  const props = req && req.ns === NS && req.name === 'Settings' ? children(req).filter((c) => c.ns === NS && c.name in HANDLERS) : [];
  if (props.length === 0) {
    return { body: el(NS, 'Settings', el(NS, 'Status', SettingsStatus.ProtocolError)), easStatus: SettingsStatus.ProtocolError, logFields: { reason: 'no Settings property' } };
  }
  let top: number = SettingsStatus.Success;
  const out: WbxmlElement[] = [];
  for (const prop of props) {
    let status: number = SettingsStatus.Success;
    let body: WbxmlElement | null = null;
    try {
      body = await HANDLERS[prop.name as (typeof PROPERTIES)[number]](ctx, prop);
    } catch (err) {
      if (err instanceof PropertyError) {
        status = err.status;
        ctx.log.info({ property: prop.name, status, reason: err.message }, 'Settings property refused');
      } else {
        ctx.log.error({ err, property: prop.name }, 'Settings property failed');
        status = SettingsStatus.ServerUnavailable;
        top = SettingsStatus.ServerUnavailable;
      }
    }
    out.push(el(NS, prop.name, el(NS, 'Status', status), body));
  }
  return { body: el(NS, 'Settings', el(NS, 'Status', top), out), easStatus: top, logFields: { properties: props.map((p) => p.name).join(',') } };
};
