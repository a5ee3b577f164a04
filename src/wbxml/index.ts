export { decodeWbxml, MAX_DEPTH, MAX_ELEMENTS } from './decoder.ts';
export { encodeWbxml } from './encoder.ts';
export { WbxmlError } from './errors.ts';
export { parseXml, toXml, toXmlBytes, treesEqual, type ToXmlOptions } from './xml.ts';
export * from './tree.ts';
export { CODE_PAGES, pageByName, pageByNumber, tagOf, tokenOf, type CodePage, type TagDef, type ProtocolVersion } from './codepages.ts';
export { hasXmlForbiddenChars, xmlSafeText } from './xml-chars.ts';
