/**
 * The top-level keys of a JSON log line that appear more than once. JSON.parse keeps the last of
 * them silently, so a log collector would too: a line like {"user":"a",...,"user":"b"} loses a
 * value without anyone seeing it. Strings are skipped with their escapes; nesting is tracked.
 */
export function duplicateKeys(line: string): string[] {
  const seen = new Set<string>();
  const dupes: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"') {
      let j = i + 1;
      while (j < line.length && line[j] !== '"') j += line[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) {
        const key = JSON.parse(line.slice(i, j + 1)) as string;
        if (seen.has(key)) dupes.push(key);
        seen.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === '{' || c === '[') {
      depth++;
      if (depth === 1 && c === '{') expectKey = true;
    } else if (c === '}' || c === ']') depth--;
    else if (c === ',' && depth === 1) expectKey = true;
  }
  return dupes;
}
