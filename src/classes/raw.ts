/**
 * Element trees kept verbatim in stored JSON, for parts of a class that easd does not model yet
 * (calendar Recurrence, Exceptions and Attendees until the calendar issue): what a client sent is
 * stored as it came and sent back unchanged, so a device's recurrence is not lost on the way.
 *
 * JSON form: { ns, name, children: [ ...elements, "text", { b64: "..." } (opaque bytes) ] }.
 */
import type { JsonObject, JsonValue } from '../ports/types.ts';
import { isElement, type WbxmlElement, type WbxmlNode } from '../wbxml/tree.ts';

export function treeToJson(e: WbxmlElement): JsonObject {
  return { ns: e.ns, name: e.name, children: e.children.map(nodeToJson) };
}

function nodeToJson(n: WbxmlNode): JsonValue {
  if (typeof n === 'string') return n;
  if (isElement(n)) return treeToJson(n);
  return { b64: Buffer.from(n.buffer, n.byteOffset, n.byteLength).toString('base64') };
}

/** The element tree of a stored JSON form, or undefined when the value is not one. */
export function jsonToTree(v: JsonValue | undefined): WbxmlElement | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const { ns, name, children } = v;
  if (typeof ns !== 'string' || typeof name !== 'string' || !Array.isArray(children)) return undefined;
  const out: WbxmlNode[] = [];
  for (const c of children) {
    if (typeof c === 'string') out.push(c);
    else if (c !== null && typeof c === 'object' && !Array.isArray(c) && typeof c['b64'] === 'string') {
      out.push(new Uint8Array(Buffer.from(c['b64'], 'base64')));
    } else {
      const t = jsonToTree(c);
      if (t) out.push(t);
    }
  }
  return { ns, name, children: out };
}
