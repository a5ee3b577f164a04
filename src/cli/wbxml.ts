import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { decodeWbxml, encodeWbxml, parseXml, toXmlBytes } from '../wbxml/index.ts';

function readInput(file: string | undefined): Buffer {
  return readFileSync(file === undefined || file === '-' ? 0 : file);
}

export function registerWbxml(program: Command): void {
  const wbxml = program.command('wbxml').description('convert between ActiveSync WBXML and its XML text form');
  wbxml
    .command('decode [file]')
    .description('WBXML from FILE or stdin to XML on stdout')
    .action((file?: string) => {
      process.stdout.write(toXmlBytes(decodeWbxml(readInput(file))));
    });
  wbxml
    .command('encode [file]')
    .description('XML from FILE or stdin to WBXML on stdout')
    .action((file?: string) => {
      process.stdout.write(encodeWbxml(parseXml(readInput(file).toString('utf8'))));
    });
}
