// The one guard every name from the user, the cluster, a file on the PVC or the local cache goes through
// before it is printed. A name could otherwise carry terminal control: an ANSI sequence that moves the
// cursor or erases the line, a carriage return that overwrites what came before, a bidi override that
// shows `../../shared` reversed, an invisible character. Those are shown as escapes, so what the user
// reads in a confirmation is what the CLI acts on. No regex: one pass over the code points.

/** Characters that change how the text around them is shown, or are not shown at all. */
function hidden(c: number): boolean {
  return (
    c < 0x20 ||
    (c >= 0x7f && c <= 0x9f) || // DEL, C1 controls (0x9b is a one-byte CSI)
    c === 0x61c || // Arabic letter mark
    c === 0x180e ||
    (c >= 0x200b && c <= 0x200f) || // zero-width characters, LRM, RLM
    (c >= 0x2028 && c <= 0x202e) || // line/paragraph separators, bidi embeddings and overrides
    (c >= 0x2060 && c <= 0x206f) || // word joiner, invisible operators, bidi isolates
    c === 0xfeff ||
    (c >= 0xfff9 && c <= 0xfffb) ||
    (c >= 0xd800 && c <= 0xdfff) || // a lone surrogate
    (c >= 0xe0000 && c <= 0xe007f) // tag characters
  )
}

function escape(c: number): string {
  if (c === 0x0a) return '\\n'
  if (c === 0x0d) return '\\r'
  if (c === 0x09) return '\\t'
  if (c < 0x100) return `\\x${c.toString(16).padStart(2, '0')}`
  return `\\u{${c.toString(16).toUpperCase()}}`
}

/**
 * `s` with control characters (ESC included, so no escape sequence survives), bidi and invisible
 * characters shown as `\xNN` / `\u{…}` escapes and a backslash doubled, so an escape is never ambiguous.
 * With ascii, every other non-ASCII character is escaped too (look-alike letters in a name).
 */
export function printable(s: string, o: {ascii?: boolean} = {}): string {
  let out = ''
  for (const ch of s) {
    const c = ch.codePointAt(0)!
    if (ch === '\\') out += '\\\\'
    else if (hidden(c) || (o.ascii && c > 0x7e)) out += escape(c)
    else out += ch
  }
  return out
}

/** A name inside a message: printable() with every non-ASCII character escaped, in double quotes (a quote inside escaped). */
export function quoted(s: string): string {
  return `"${printable(s, {ascii: true}).replace(/"/g, '\\"')}"`
}
