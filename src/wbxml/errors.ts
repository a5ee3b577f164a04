/**
 * The one error the codec throws. `offset` is the byte offset in the WBXML input where decoding
 * failed (for the encoder and the XML text form: the output offset or the text position), so a
 * log line or the CLI can point at the bad byte.
 */
export class WbxmlError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`${message} (at offset ${offset})`);
    this.name = 'WbxmlError';
    this.offset = offset;
  }
}
