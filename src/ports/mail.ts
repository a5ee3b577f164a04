/**
 * Mail content kept once by content (MailStore, `store.mail`): raw messages and attachment bytes
 * in a blob table keyed by their sha256. Every recipient's Email item refers to the same blob
 * (the item JSON keeps the sha256); an attachment identical in many messages is kept once.
 *
 * The store knows nothing of MIME or EAS: a blob is bytes and a hash.
 */

/** Bytes to keep, with the sha256 (lowercase hex) the caller computed. */
export interface BlobPart {
  sha256: string;
  data: Buffer;
}

/**
 * Bytes to keep that are read when stored, never held whole: a large message or attachment
 * spooled to a file. `read` may be called once per store attempt; it yields the bytes in order.
 */
export interface BlobSource {
  sha256: string;
  size: number;
  read(): AsyncIterable<Uint8Array>;
}

/** What putBlobs takes: bytes in memory, or a source read as it is stored. */
export type BlobInput = BlobPart | BlobSource;

/** Whether a blob to store is a source read as it is stored (else its bytes are in `data`). */
export function isBlobSource(p: BlobInput): p is BlobSource {
  return typeof (p as Partial<BlobSource>).read === 'function';
}

export interface MailStore {
  /**
   * Keeps each part once: a part whose sha256 is already stored is not written again (a source
   * is then not read). A source is written as it is read, a chunk at a time, so memory does not
   * grow with its size. Throws StoreError 'invalid' when a part's sha256 (or a source's size)
   * does not match its bytes (a caller bug that would otherwise serve one message's bytes for
   * another's); nothing of that part is kept.
   */
  putBlobs(parts: readonly BlobInput[]): Promise<void>;
  /** The bytes, or null when no blob has that hash. */
  getBlob(sha256: string): Promise<Buffer | null>;
  /** Size in bytes, or null. */
  blobSize(sha256: string): Promise<number | null>;
  /**
   * Deletes blobs no live item refers to any more. A blob is referred to while the data of any
   * live item holds its hash as the value of a key named `sha256` (at any depth). Only blobs
   * created before `createdBefore` are considered, so a message being delivered (blobs stored,
   * items not yet) is never touched. Returns how many blobs were deleted and how many remain.
   */
  deleteUnreferencedBlobs(createdBefore: Date): Promise<{ deleted: number; kept: number }>;
}
