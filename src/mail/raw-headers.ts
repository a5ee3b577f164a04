/**
 * Header fields read straight from a raw message, without parsing it: for the bounce's quoted
 * headers (dsn.ts) and for the Message-ID of log lines (relay.ts, lmtp-server.ts), where the
 * message is not parsed (or is spooled, with only its head in memory).
 */

/** The header block is read up to this size; a longer one is cut at a line. */
const MAX_HEADER_BYTES = 64 * 1024;

/** The header block of a message (up to the first empty line), with CRLF line ends, bounded. */
export function headerBlock(raw: Buffer): string {
  const text = raw.subarray(0, MAX_HEADER_BYTES + 4).toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  let block = end >= 0 ? text.slice(0, end) : text;
  if (block.length > MAX_HEADER_BYTES) block = block.slice(0, block.lastIndexOf('\n', MAX_HEADER_BYTES));
  // Latin-1 keeps every byte; the block is written back byte for byte.
  return Buffer.from(block.replace(/\r?\n/g, '\r\n'), 'latin1').toString('utf8');
}

/** The unfolded value of the first field of that name, if any. */
export function headerValue(block: string, name: string): string | undefined {
  const unfolded = block.replace(/\r\n[ \t]+/g, ' ');
  for (const line of unfolded.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === name) return line.slice(colon + 1).trim();
  }
  return undefined;
}

/** The unfolded value of a header field of a raw message (the first of that name), if any. */
export function headerField(raw: Buffer, name: string): string | undefined {
  return headerValue(headerBlock(raw), name.toLowerCase());
}
