/** Sibling names compare case-insensitively (MS-ASCMD 2.2.3.49.4: unique within a folder). */
export function sameFolderName(a: string, b: string): boolean {
  return a.normalize('NFC').toLowerCase() === b.normalize('NFC').toLowerCase();
}
