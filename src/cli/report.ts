import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { ReportBuilder, reportCsv, reportText } from '../report/summary.ts';
import { parseTime } from '../report/time.ts';

/**
 * `easd report [FILE|-] [--since T] [--until T] [--csv]`: the request log of `easd serve` (its
 * JSON lines on stdout, wherever they were kept) summed up per user and device
 * (src/report/summary.ts). Other log lines in the input are skipped.
 */
export function registerReport(program: Command): void {
  program
    .command('report [file]')
    .description('summarise the request log per user and device (hits per command, bytes, statuses, throttles, resets); "-" or no file reads stdin')
    .option('--since <time>', 'only requests from this time (2026-11-25T04:00:00Z, or 30m, 6h, 3d back)')
    .option('--until <time>', 'only requests before this time')
    .option('--csv', 'CSV with one row per user and device')
    .action(async (file: string | undefined, opts: { since?: string; until?: string; csv?: boolean }) => {
      const now = new Date();
      const since = opts.since !== undefined ? parseTime(opts.since, now).getTime() : undefined;
      const until = opts.until !== undefined ? parseTime(opts.until, now).getTime() : undefined;
      const input = file === undefined || file === '-' ? process.stdin : createReadStream(file);
      const opened = new Promise<void>((resolve, reject) => {
        if (input === process.stdin) return resolve();
        input.once('open', () => resolve());
        input.once('error', (err: NodeJS.ErrnoException) => reject(new Error(`cannot read ${file}: ${err.code ?? err.message}`)));
      });
      await opened;
      const builder = new ReportBuilder({ ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}) });
      for await (const line of createInterface({ input, crlfDelay: Infinity })) builder.add(line);
      const report = builder.report();
      process.stdout.write(opts.csv ? reportCsv(report) : reportText(report));
    });
}
