// Messages that quote user data (a CSV cell, a file name, a YAML value) must stay readable whatever
// the data holds: a 10 MB cell is shown as its first characters and its length, never in full.
export const QUOTE_MAX = 200

function head(s: string, max: number): string {
  // do not cut a surrogate pair in half
  const c = s.charCodeAt(max - 1)
  return s.slice(0, c >= 0xd800 && c <= 0xdbff ? max - 1 : max)
}

const total = (s: string) => `… (${s.length.toLocaleString('en-US')} characters in all)`

/** `s` itself when short; otherwise its first `max` characters, an ellipsis and the total length. */
export function truncateText(s: string, max = QUOTE_MAX): string {
  return s.length <= max ? s : head(s, max) + total(s)
}

/** JSON-quoted (control characters escaped) and truncated: safe to put any user value in a one-line message. */
export function quoteUser(s: string, max = QUOTE_MAX): string {
  return s.length <= max ? JSON.stringify(s) : JSON.stringify(head(s, max)) + total(s)
}
