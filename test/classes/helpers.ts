import type { EasVersion } from '../../src/eas/versions.ts';
import type { ConvertContext, ItemConverter } from '../../src/classes/types.ts';
import type { JsonObject } from '../../src/store/types.ts';
import { decodeWbxml, encodeWbxml } from '../../src/wbxml/index.ts';
import { child, el, isElement, text, type WbxmlElement } from '../../src/wbxml/tree.ts';

export function ctx(version: EasVersion, extra: Partial<ConvertContext> = {}): ConvertContext {
  return { version, bodyPreferences: [], ...extra };
}

/** ApplicationData with the given children, sent through the WBXML codec and back. */
export function overTheWire(kids: WbxmlElement[]): WbxmlElement {
  const doc = el('AirSync', 'Sync', el('AirSync', 'ApplicationData', kids));
  const decoded = decodeWbxml(encodeWbxml(doc));
  const appData = child(decoded, 'ApplicationData', 'AirSync');
  if (!appData) throw new Error('ApplicationData lost on the wire');
  return appData;
}

/** data -> toEas -> WBXML -> fromEas (as an Add: no existing data). */
export function roundTrip(conv: ItemConverter, data: JsonObject, c: ConvertContext): JsonObject {
  return conv.fromEas(overTheWire(conv.toEas(data, c)), c);
}

/** "Ns:Name" of each element. */
export function names(kids: WbxmlElement[]): string[] {
  return kids.map((k) => `${k.ns}:${k.name}`);
}

/** Text of the first top-level element with this name (and code page). */
export function textOf(kids: WbxmlElement[], name: string, ns?: string): string | undefined {
  const e = kids.find((k) => k.name === name && (ns === undefined || k.ns === ns));
  return e ? text(e) : undefined;
}

export function find(kids: WbxmlElement[], name: string, ns?: string): WbxmlElement | undefined {
  return kids.find((k) => k.name === name && (ns === undefined || k.ns === ns));
}

/** Child element names of an element. */
export function childNames(e: WbxmlElement | undefined): string[] {
  if (!e) return [];
  return e.children.filter(isElement).map((k) => `${k.ns}:${k.name}`);
}

/** A client's ApplicationData built from elements (as the decoder would give it). */
export function appData(...kids: WbxmlElement[]): WbxmlElement {
  return overTheWire(kids);
}

/** A ConvertContext `dropped` that records "CodePage:Name" of each element left out. */
export function droppedInto(list: string[]): Pick<ConvertContext, 'dropped'> {
  return { dropped: (element) => void list.push(element) };
}
