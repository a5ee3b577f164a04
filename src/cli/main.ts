import { Command } from 'commander';
import { WbxmlError } from '../wbxml/errors.ts';
import { registerContacts } from './contacts.ts';
import { registerDevice } from './device.ts';
import { registerMail } from './mail.ts';
import { registerPolicy } from './policy.ts';
import { registerRule } from './rule.ts';
import { registerServe } from './serve.ts';
import { registerUser } from './user.ts';
import { registerDomain } from './domain.ts';
import { registerLogging } from './logging.ts';
import { registerReport } from './report.ts';
import { registerWbxml } from './wbxml.ts';

/** The `easd` command: the composition root for the server and the admin tools. */
const program = new Command('easd')
  .description('easd, an Exchange ActiveSync server')
  .version('0.1.0')
  .showHelpAfterError();
registerServe(program);
registerUser(program);
registerWbxml(program);
registerDevice(program);
registerPolicy(program);
registerRule(program);
registerContacts(program);
registerMail(program);
registerDomain(program);
registerLogging(program);
registerReport(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  // Expected failures (bad input, a missing user) are one line on stderr and exit status 1.
  const message = err instanceof WbxmlError ? `malformed input: ${err.message}` : err instanceof Error ? err.message : String(err);
  process.stderr.write(`easd: ${message}\n`);
  if (process.env.EASD_DEBUG) console.error(err);
  process.exit(1);
});
