/**
 * Where each HTTP/1.1 request ends in a byte stream a server reads (RFC 9112 section 6.3): the
 * head ends at the first empty line, then a body of Content-Length bytes, or none. That is all
 * src/http/held-connections.ts needs to know: whether every byte passed on so far belongs to
 * requests that are complete. Anything it cannot frame for sure (a chunked body, an Upgrade, a
 * malformed or repeated Content-Length, a head over the limit) makes the stream opaque from
 * there on: never at a boundary again.
 */
const END_OF_HEAD = Buffer.from('\r\n\r\n', 'latin1');

export class RequestFramer {
  /** Requests whose head was seen. */
  framed = 0;
  #opaque = false;
  /** The head seen so far of a request whose head spans chunks (undefined at a boundary). */
  #partial: Buffer | undefined;
  #bodyLeft = 0;

  constructor(readonly maxHead = 64 * 1024) {}

  get opaque(): boolean {
    return this.#opaque;
  }

  /** Every byte fed belongs to requests whose head and body were complete. */
  get atBoundary(): boolean {
    return !this.#opaque && this.#partial === undefined && this.#bodyLeft === 0;
  }

  feed(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length && !this.#opaque) {
      if (this.#bodyLeft > 0) {
        const n = Math.min(this.#bodyLeft, chunk.length - i);
        this.#bodyLeft -= n;
        i += n;
        continue;
      }
      // Searched in the bytes (a chunk may carry a large body after the head); only the head
      // becomes a string. A head that spans chunks is kept until its empty line comes.
      let data = chunk;
      let from = i;
      let start = i;
      const partial = this.#partial;
      if (partial) {
        data = Buffer.concat([partial, chunk.subarray(i)]);
        // The empty line may straddle the two: look from three bytes before the new ones.
        from = Math.max(0, partial.length - 3);
        start = 0;
      }
      const end = data.indexOf(END_OF_HEAD, from);
      if (end < 0) {
        this.#partial = partial ? data : Buffer.from(chunk.subarray(i));
        if (this.#partial.length > this.maxHead) this.#opaque = true;
        return;
      }
      const head = data.toString('latin1', start, end + 4);
      i = partial ? i + (end + 4 - partial.length) : end + 4;
      this.#partial = undefined;
      this.framed++;
      this.#bodyLeft = this.#bodyLength(head);
    }
  }

  /** The Content-Length of a head, 0 if none; opaque when there is a body it cannot frame. */
  #bodyLength(head: string): number {
    // RFC 9112 6.1: Transfer-Encoding (chunked) overrides Content-Length; an Upgrade switches
    // protocols after the head. Field names are case-insensitive (RFC 9110 5.1).
    if (/\r\n(transfer-encoding|upgrade)[ \t]*:/i.test(head) || head.length > this.maxHead) {
      this.#opaque = true;
      return 0;
    }
    const lengths = head.match(/\r\ncontent-length[ \t]*:[^\r]*/gi);
    if (!lengths) return 0;
    // RFC 9112 6.3: several or invalid values cannot be framed (node:http refuses them).
    const m = lengths.length === 1 ? /:[ \t]*(\d{1,15})[ \t]*$/.exec(lengths[0]!) : null;
    if (!m) {
      this.#opaque = true;
      return 0;
    }
    return Number(m[1]);
  }
}
