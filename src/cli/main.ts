import { Command } from 'commander';

/**
 * The `easd` command: the composition root for the server and the admin tools.
 *
 * Each subcommand's module is imported only when that subcommand runs: `easd user list` loads the
 * store and the user commands, not the HTTP server, mail listeners or WBXML codec, and
 * `easd --version` loads nothing but commander (README "Install": the CLI starts in a fraction of
 * a second). Help and unknown commands load them all, so help lists every subcommand.
 */
type Register = (program: Command) => void;
const SUBCOMMANDS: Record<string, () => Promise<Register>> = {
  serve: async () => (await import('./serve.ts')).registerServe,
  user: async () => (await import('./user.ts')).registerUser,
  wbxml: async () => (await import('./wbxml.ts')).registerWbxml,
  device: async () => (await import('./device.ts')).registerDevice,
  policy: async () => (await import('./policy.ts')).registerPolicy,
  rule: async () => (await import('./rule.ts')).registerRule,
  contacts: async () => (await import('./contacts.ts')).registerContacts,
  mail: async () => (await import('./mail.ts')).registerMail,
  domain: async () => (await import('./domain.ts')).registerDomain,
  logging: async () => (await import('./logging.ts')).registerLogging,
  report: async () => (await import('./report.ts')).registerReport,
};

/** The subcommands `args` (argv after the script) needs registered: its own, none for the version, else all. */
function subcommandsFor(args: readonly string[]): string[] {
  const first = args.find((a) => !a.startsWith('-'));
  if (first !== undefined && first in SUBCOMMANDS) return [first];
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) return [];
  return Object.keys(SUBCOMMANDS);
}

async function main(): Promise<void> {
  const program = new Command('easd')
    .description('easd, an Exchange ActiveSync server')
    .version('0.1.0')
    .showHelpAfterError();
  for (const name of subcommandsFor(process.argv.slice(2))) (await SUBCOMMANDS[name]!())(program);
  await program.parseAsync(process.argv);
}

main().catch(async (err: unknown) => {
  // Expected failures (bad input, a missing user) are one line on stderr and exit status 1.
  const { WbxmlError } = await import('../wbxml/errors.ts');
  const message = err instanceof WbxmlError ? `malformed input: ${err.message}` : err instanceof Error ? err.message : String(err);
  process.stderr.write(`easd: ${message}\n`);
  if (process.env.EASD_DEBUG) console.error(err);
  process.exit(1);
});
