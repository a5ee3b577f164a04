import type { EasVersion } from '../eas/versions.ts';
import type { BlobPart } from '../ports/mail.ts';
import type { ItemClass, JsonObject } from '../ports/types.ts';
import type { WbxmlElement } from '../wbxml/tree.ts';

/** One BodyPreference of a Sync or ItemOperations request (MS-ASAIRS 2.2.2.7). */
export interface BodyPreference {
  /** 1 plain text, 2 HTML, 3 RTF, 4 MIME (MS-ASAIRS 2.2.2.22.1). */
  type: 1 | 2 | 3 | 4;
  truncationSize?: number;
  allOrNone?: boolean;
  /** Characters of plain-text preview wanted (14.0+), 0-255. */
  preview?: number;
}

/** What a converter needs to know about the client and the collection's Options. */
export interface ConvertContext {
  version: EasVersion;
  bodyPreferences: BodyPreference[];
  /** MIMESupport of the collection's Options (MS-ASCMD 2.2.3.110): 0 never, 1 S/MIME only, 2 always. */
  mimeSupport?: 0 | 1 | 2;
  /** MIMETruncation in bytes, when the client set one. */
  mimeTruncationBytes?: number;
  /**
   * Clock for values the server fills in when a client leaves them out (a calendar item's missing
   * StartTime/EndTime, MS-ASCAL 3.2.4.4; a completed task's DateCompleted). Defaults to the
   * system clock; tests inject a fixed one.
   */
  now?: () => Date;
  /**
   * Generator of a calendar UID for an item added without one (MS-ASCAL 2.2.2.46: from 16.0 the
   * server generates it). Defaults to a random 32-hex-digit id; tests inject a fixed one.
   */
  newUid?: () => string;
  /**
   * The Supported list of the collection's initial Sync (MS-ASCMD 2.2.3.179), as "CodePage:Name"
   * ("Contacts:JobTitle"): elements named there are not ghosted, the other ghostable ones are.
   * Undefined: the client sent no Supported (nothing is ghosted); empty: everything is.
   */
  supported?: readonly string[];
  /**
   * 16.0+: the airsyncbase:InstanceId of a Sync Change (MS-ASCMD 2.2.3.24, MS-ASAIRS 2.2.2.25):
   * the Change is of that one occurrence of a recurring calendar item, not of the series.
   */
  instanceId?: string;
  /**
   * The mailbox owner's address (lower case). A calendar item organised by someone else is the
   * user's copy of a meeting, which the user's devices cannot take over (kb-1.2).
   */
  userEmail?: string;
  /**
   * Where fromEas puts the bytes of attachments a device adds (16.0+, MS-ASAIRS 2.2.2.2; see
   * attachments.ts): the caller stores them (Mailbox.putBlobs) before it writes the item.
   * Absent: attachments cannot be added (ConversionError).
   */
  newBlobs?: BlobPart[];
  /** Largest attachment a device may add, in bytes (default attachments.ts MAX_ATTACHMENT_BYTES). */
  maxAttachmentBytes?: number;
  /**
   * Largest contact Picture a client may store, in bytes of image (decoded base64); a larger one
   * is left out and the contact kept (src/classes/contacts.ts). Default DEFAULT_PICTURE_MAX_BYTES.
   */
  pictureMaxBytes?: number;
  /**
   * Told of every optional element a client sent malformed (a bad date, an unknown enum value, a
   * truncated Timezone, a photo over the limit) that was left out while the item was kept: the
   * caller logs it (warn). `element` is "CodePage:Name".
   */
  dropped?: (element: string, reason: string) => void;
  /**
   * The item of a Change is in a Drafts folder (type 3): a draft's every field is the device's
   * to change, where a received message takes only Read, Flag and Categories (email.ts).
   */
  draftsFolder?: boolean;
  /**
   * For a Change: convert what the device sent as it sent it, fields the server keeps for itself
   * (an attendee's copy of someone else's meeting, a received message's From or Subject)
   * included. That is the item as the device now shows it; when it differs from what the server
   * stores, the device is sent the server's version (src/sync/client-commands.ts, echoes).
   */
  asSent?: boolean;
}

/** A client sent an item the class cannot take (Sync Status 6, MS-ASCMD 2.2.3.177.17). */
export class ConversionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConversionError';
  }
}

/**
 * One converter per data class between the EAS element tree (the children of ApplicationData)
 * and the stored item data (a JSON object, the store keeps it opaque). Pure functions.
 */
export interface ItemConverter {
  itemClass: ItemClass;
  /**
   * First protocol version that has the class (Notes: 14.0, MS-ASNOTE 2.2.2); a collection of the
   * class is not offered to older clients, and the converter refuses them (ConversionError).
   * Absent: every version easd speaks.
   */
  minVersion?: EasVersion;
  /** ApplicationData children for a Sync Add/Change or a Fetch response. */
  toEas(data: JsonObject, ctx: ConvertContext): WbxmlElement[];
  /**
   * Stored data from a client's ApplicationData. For a Change, `existing` is the stored data:
   * a field the client does not send is kept (ghosted properties, MS-ASCMD 2.2.3.168 Supported;
   * for the basic fields, absence means "unchanged") unless the class says absence clears it.
   * Throws ConversionError for content the class cannot take.
   */
  fromEas(appData: WbxmlElement, ctx: ConvertContext, existing?: JsonObject): JsonObject;
  /**
   * Identity used to match a client Add after a reset with an item already in the folder
   * (kb-2.7): equal keys mean "the same item". Undefined when the class cannot tell.
   */
  matchKey(data: JsonObject): string | undefined;
  /**
   * The time the FilterType window (MS-ASCMD 2.2.3.70) is tested against: DateReceived for
   * mail, the end of the last occurrence for calendar items (undefined: always in the window,
   * e.g. an endless series), the due date for tasks. Undefined for classes without windows.
   */
  filterTime?(data: JsonObject): Date | undefined;
  /**
   * 16.0+: a Sync Delete with airsyncbase:InstanceId (MS-ASCMD 2.2.3.42.2) deletes one occurrence
   * of a recurring item: the item's data with that occurrence removed (the item stays). Throws
   * ConversionError when the item has no such occurrence. Only classes with occurrences have it.
   */
  deleteInstance?(data: JsonObject, instanceId: string): JsonObject;
  /**
   * ApplicationData children for the answer to a device's Add or Change (16.0+, MS-ASCMD
   * 2.2.3.11 in Responses): the FileReference of each attachment it added, by its ClientId
   * (MS-ASAIRS 2.2.2.7). Undefined: the answer carries no ApplicationData.
   */
  clientWriteAnswer?(appData: WbxmlElement, data: JsonObject, ctx: ConvertContext): WbxmlElement[] | undefined;
  /**
   * What a client's Change means beyond the item itself, for classes where the server acts on
   * it (completing one occurrence of a recurring task, MS-OXOTASK 3.1.4.6): the data to store
   * for the item (which the device must then be sent, as it differs from what it wrote) and
   * new items to create beside it. Undefined: store the converted data as it is.
   */
  afterClientChange?(data: JsonObject, existing: JsonObject, ctx: ConvertContext): { data: JsonObject; created: JsonObject[] } | undefined;
}
