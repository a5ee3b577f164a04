/**
 * A linear pre-check of iCalendar and vCard text (RFC 5545 3.1, RFC 6350 3.3 content lines)
 * before ical.js reads it. ical.js looks for the value's ":" from every parameter of a property
 * anew (ICAL.parse._parseParameters), so a property with n parameters on a long line costs n times
 * the line: 1 MB of ";X=y" held the event loop for 6.7 s. Real properties carry a handful of
 * parameters (an ATTENDEE has about ten: RFC 5545 3.8.4.1), so a bound far above that refuses only
 * hostile input, in one pass.
 */
export const MAX_PARAMETERS_PER_PROPERTY = 100;

/** Why the text is refused (a property with too many parameters), or undefined when it may be parsed. */
export function contentLinesProblem(text: string, maxParameters = MAX_PARAMETERS_PER_PROPERTY): string | undefined {
  let params = 0;
  let inValue = false;
  let inQuote = false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a) {
      // A line starting with a space or tab continues the previous one (folding, RFC 5545 3.1).
      const next = text.charCodeAt(i + 1);
      if (next === 0x20 || next === 0x09) {
        i++;
        continue;
      }
      params = 0;
      inValue = false;
      inQuote = false;
    } else if (inValue) {
      continue;
    } else if (c === 0x22) {
      inQuote = !inQuote;
    } else if (inQuote) {
      continue;
    } else if (c === 0x3a) {
      inValue = true;
    } else if (c === 0x3b && ++params > maxParameters) {
      return `a property with more than ${maxParameters} parameters (line ${lineOf(text, i)})`;
    }
  }
  return undefined;
}

function lineOf(text: string, at: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < at; i = text.indexOf('\n', i + 1)) line++;
  return line;
}
