import { createInterface } from 'node:readline';

/** Reads the first line of standard input (for --password-stdin), without its line ending. */
export async function readFirstLine(input: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const rl = createInterface({ input, terminal: false });
  for await (const line of rl) {
    rl.close();
    return line;
  }
  return '';
}

/** Asks for a password on the terminal without echoing it. */
export async function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) throw new Error('no terminal to ask for a password on; use --password-stdin');
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    let value = '';
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') {
          done();
          resolve(value);
          return;
        }
        if (ch === '\u0003') {
          done();
          reject(new Error('cancelled'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    const done = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    stdin.on('data', onData);
  });
}

/** A new password from stdin (first line) or, interactively, typed twice. */
export async function readNewPassword(fromStdin: boolean): Promise<string> {
  const password = fromStdin ? await readFirstLine() : await promptHidden('Password: ');
  if (!fromStdin && (await promptHidden('Repeat password: ')) !== password) throw new Error('the passwords differ');
  if (password.length < 8) throw new Error('a password needs at least 8 characters');
  return password;
}
