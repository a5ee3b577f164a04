import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator } from '../auth/authenticator.ts';
import type { Services } from '../commands/services.ts';
import type { CommandHandler, CommandResult } from '../commands/types.ts';
import { commandByName, PROTOCOL_HEADERS } from '../eas/commands.ts';
import { isSupportedVersion, versionNumber } from '../eas/versions.ts';
import type { User } from '../ports/types.ts';
import { encodeWbxml, toXml, WbxmlError } from '../wbxml/index.ts';
import { RequestContext, type RequestStores } from './request-context.ts';
import type { Logger } from 'pino';
import { optionsDeviceId, parseRequestParams, QueryError } from './query.ts';
import type { SeenDevices } from '../devices/seen-devices.ts';
import { withProvisionGate } from '../devices/provision-gate.ts';
import { authenticateRequest } from './authenticate.ts';
import { parseBasicAuth } from '../auth/authenticator.ts';
import type { MailboxCredentials } from '../ports/mailbox.ts';
import { logFields } from '../logging/request-log.ts';
import { ParkedRequests } from './parked-requests.ts';
import { takeHeldAnswer, type HeldConnections } from './held-connections.ts';
import { Protection } from '../devices/protection.ts';
import { withLoopDetection } from '../devices/loop-detector.ts';
import { throttleHeaders } from '../devices/throttle.ts';

export const ENDPOINT = '/Microsoft-Server-ActiveSync';
export const WBXML_CONTENT_TYPE = 'application/vnd.ms-sync.wbxml';
export { PROTOCOL_HEADERS };

interface Deps {
  store: RequestStores;
  log: Logger;
  handlers: Map<string, CommandHandler>;
  authenticator: Authenticator;
  services: Services;
  /**
   * The abort controllers of requests in progress; closing the server aborts them all. (One
   * controller per request, not AbortSignal.any with a server-wide signal: on Node 20 that keeps
   * every request's signal alive for the server's life, nodejs/node#55351.)
   */
  held: Set<AbortController>;
  /** Throttling, loop detection, held-request limit (src/devices/protection.ts). */
  protection: Protection;
  /** Device partnerships as requests see them (written when new, changed or a minute old). */
  seenDevices: SeenDevices;
  /**
   * Runs once the user is authenticated (mailbox logging, redirects of users homed elsewhere:
   * src/http/server.ts); false when it has answered the request itself.
   */
  afterAuthentication?: (req: FastifyRequest, reply: FastifyReply, user: User) => Promise<boolean>;
  /** The server's connections, so held requests can be detached from node:http. */
  connections?: HeldConnections;
}

export function registerActiveSync(app: FastifyInstance, deps: Deps): void {
  const { log } = deps;
  const { seenDevices } = deps;
  const { protection, services } = deps;

  /** Writes a command's result as the HTTP response (now, or later for a parked request). */
  const answer = (req: FastifyRequest, reply: FastifyReply, result: CommandResult): void => {
    const f = logFields(req);
    if (result.easStatus !== undefined) f.easStatus = result.easStatus;
    if (result.logFields) Object.assign(f, result.logFields);
    if (result.clientFault) f.clientFault = true;
    void reply.code(result.httpStatus ?? 200);
    if (result.headers) void reply.headers(result.headers);
    if (result.body) {
      if (log.isLevelEnabled('trace')) log.trace({ cmd: f.cmd, user: f.user, deviceId: f.deviceId, xml: toXml(result.body, { maxOpaqueBytes: 256 }) }, 'response body');
      void reply.type(WBXML_CONTENT_TYPE).send(encodeWbxml(result.body));
    } else if (result.raw) {
      void reply.type(result.raw.contentType).send(result.raw.data);
    } else {
      void reply.send();
    }
  };
  const parked = new ParkedRequests(answer, log, { connections: deps.connections });
  // Provisioning, access rules and remote wipe decide first (src/devices/provision-gate.ts).
  // Loop detection sits inside the gate: a blocked or wiped device is refused before any replay.
  // Wrapped once per command, not per request.
  const gated = new Map<string, CommandHandler | undefined>();
  const gatedHandler = (name: string): CommandHandler | undefined => {
    if (!gated.has(name)) gated.set(name, withProvisionGate(withLoopDetection(protection.loops, deps.handlers.get(name), protection.onLoopFlag)));
    return gated.get(name);
  };
  // Closing the server answers parked requests at once instead of waiting out their heartbeat.
  app.addHook('preClose', async () => parked.closeAll());
  app.addHook('preClose', async () => protection.flushRefusals());

  const refuse = (req: FastifyRequest, reply: FastifyReply, status: number, reason: string, headers: Record<string, string> = {}) => {
    logFields(req).reason = reason;
    return reply.code(status).headers(headers).send();
  };

  /** Basic authentication (MS-ASHTTP 2.2.1.1.2.1); 401 with a challenge when missing or wrong. */
  const authenticate = async (req: FastifyRequest, reply: FastifyReply) => {
    const user = await authenticateRequest(deps.authenticator, req, reply);
    return user && deps.afterAuthentication && !(await deps.afterAuthentication(req, reply, user)) ? null : user;
  };

  // OPTIONS tells the client the versions and commands (MS-ASHTTP 2.2.1.2, 2.2.2.1.2.3-4).
  app.options(ENDPOINT, async (req, reply) => {
    const f = logFields(req);
    f.cmd = 'OPTIONS';
    // Its device id, when the query names one, makes it that device's origin for lockout.
    const deviceId = optionsDeviceId(req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '');
    if (deviceId) f.deviceId = deviceId;
    const user = await authenticate(req, reply);
    if (!user) return reply;
    return reply.code(200).headers({ ...PROTOCOL_HEADERS, Allow: 'OPTIONS,POST' }).send();
  });

  // Only OPTIONS and POST are part of the protocol (MS-ASHTTP 2.2.1.1).
  app.get(ENDPOINT, async (req, reply) => refuse(req, reply, 501, 'GET is not an ActiveSync method'));

  // Not an async route: Fastify would treat the returned reply as a thenable and keep a pending
  // promise and stream listeners per request until it is answered, which for a parked Ping is
  // its whole heartbeat. The work runs in `post`; an error it throws goes to the error handler.
  app.post(ENDPOINT, (req, reply) => {
    post(req, reply).catch((err: unknown) => {
      if (!reply.sent) void reply.send(err);
      else log.error({ err }, 'ActiveSync request failed after its answer');
    });
  });

  const post = async (req: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    // The answer of a held request that was detached, carried by a request easd made
    // (src/http/held-connections.ts): it was authenticated and logged as the held request.
    const held = takeHeldAnswer<CommandResult>(req);
    if (held) {
      answer(req, reply, held);
      return reply;
    }
    const f = logFields(req);
    const rawQuery = req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '';
    let params;
    try {
      params = parseRequestParams(rawQuery, req.headers);
    } catch (err) {
      if (err instanceof QueryError) return refuse(req, reply, 400, err.message);
      throw err;
    }
    Object.assign(f, {
      cmd: params.cmd,
      user: params.user,
      deviceId: params.deviceId,
      deviceType: params.deviceType,
      protocolVersion: params.protocolVersion,
    });

    const user = await authenticate(req, reply);
    if (!user) return reply;

    // An unknown command is functionality the server does not have: 501 (MS-ASHTTP 2.2.2.1.1).
    const command = commandByName(params.cmd);
    if (!command) return refuse(req, reply, 501, `unknown command ${params.cmd}`);
    f.cmd = command.name;

    // A version the server does not offer, or a command the version does not have, is a
    // malformed request: 400, with the versions the client may pick from.
    const version = params.protocolVersion;
    if (!isSupportedVersion(version)) {
      return refuse(req, reply, 400, `unsupported protocol version ${version ?? '(none)'}`, PROTOCOL_HEADERS);
    }
    const v = versionNumber(version);
    if (v < versionNumber(command.since) || (command.until && v > versionNumber(command.until))) {
      return refuse(req, reply, 400, `${command.name} is not part of protocol ${version}`, PROTOCOL_HEADERS);
    }

    const rawBody: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const contentType = req.headers['content-type'];
    const device = await seenDevices.seen({
      userId: user.id,
      deviceId: params.deviceId,
      deviceType: params.deviceType,
      userAgent: req.headers['user-agent'] ?? null,
      protocolVersion: version,
    });

    const handler = gatedHandler(command.name);
    if (!handler) return refuse(req, reply, 501, `${command.name} is not implemented yet`);

    // Decoded when the handler first reads it: a repeated request answered from what the
    // command kept (a quiet Sync) never needs its tree. Malformed WBXML is still a 400.
    const ctx = new RequestContext({
      params,
      commandName: command.name,
      version,
      user,
      device,
      rawBody,
      contentType,
      isWbxml: rawBody.length > 0 && (contentType ?? '').toLowerCase().includes('wbxml'),
      store: deps.store,
      services,
      log,
      response: reply.raw,
      held: deps.held,
      // For a mailbox backend that logs in with the device's credentials (MailboxProvider.open).
      credentials: basicCredentials(req.headers.authorization),
    });
    if (rawBody.length > 0 && log.isLevelEnabled('trace')) {
      try {
        const xml = ctx.request;
        if (xml) ctx.log.trace({ xml: toXml(xml, { maxOpaqueBytes: 256 }) }, 'request body');
      } catch (err) {
        if (err instanceof WbxmlError) return refuse(req, reply, 400, `malformed WBXML: ${err.message}`);
        throw err;
      }
    }
    // Budgets per device and user (src/devices/throttle.ts): past one, 503 and nothing done.
    const admitted = protection.admit(user.id, params.deviceId, command.name, rawBody);
    if (!admitted.ok) {
      // Held for a while before it is sent, so a device ignoring Retry-After cannot spin (tarpit).
      const { reason, retryAfter, scope } = admitted;
      protection.refuseLater(retryAfter, () => void refuse(req, reply, 503, `throttled (${scope}): ${reason}`, throttleHeaders(reason, retryAfter)));
      return undefined;
    }
    // A device repeating the same Sync is paced (src/devices/throttle.ts): wait its turn.
    if (admitted.delayMs > 0) {
      f.pacedMs = admitted.delayMs;
      await new Promise((r) => setTimeout(r, admitted.delayMs));
    }
    let result: CommandResult;
    try {
      result = await handler(ctx);
    } catch (err) {
      if (err instanceof WbxmlError) return refuse(req, reply, 400, `malformed WBXML: ${err.message}`);
      // The partnership row may be what failed (removed meanwhile): write it again next time.
      seenDevices.forget(user.id, params.deviceId);
      throw err;
    } finally {
      admitted.release();
      ctx.release();
    }
    if (result.park) {
      parked.park(req, reply, result.park, protection.heldGroup(user.id));
      return undefined;
    }
    answer(req, reply, result);
    return reply;
  };
}

/** The request's Basic credentials (already checked) as a mailbox backend takes them. */
function basicCredentials(header: string | undefined): MailboxCredentials | undefined {
  const creds = parseBasicAuth(header);
  return creds ? { user: creds.username, password: creds.password } : undefined;
}
