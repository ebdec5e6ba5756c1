// Python repr() of parsed YAML values, so messages read the way the ingestor (jsonschema + PyYAML)
// prints them: 'single-quoted' strings, True/False/None, [a, b], {'k': v}, datetime.date(…).

/** Longest repr quoted in a message: a huge value (a 10 MB string, an expanded alias tree) is cut here. */
export const REPR_MAX = 200

export function pyRepr(value: unknown, max = Infinity): string {
  const out = {text: '', max}
  reprInto(value, out)
  return out.text.length > max ? out.text.slice(0, max) + '…' : out.text
}

// Builds at most `max` (+ one item) characters, however large the value.
function reprInto(value: unknown, out: {text: string; max: number}): void {
  if (out.text.length > out.max) return
  if (value === null || value === undefined) out.text += 'None'
  else if (value === true) out.text += 'True'
  else if (value === false) out.text += 'False'
  else if (typeof value === 'number') out.text += pyNumber(value)
  else if (typeof value === 'bigint') out.text += value.toString()
  else if (typeof value === 'string') out.text += pyStr(value)
  else if (value instanceof Date) out.text += pyDate(value)
  else if (Array.isArray(value)) {
    out.text += '['
    for (let i = 0; i < value.length && out.text.length <= out.max; i++) {
      if (i > 0) out.text += ', '
      reprInto(value[i], out)
    }
    out.text += ']'
  } else if (typeof value === 'object') {
    out.text += '{'
    let first = true
    for (const k in value as Record<string, unknown>) {
      if (!Object.hasOwn(value, k)) continue
      if (out.text.length > out.max) break
      if (!first) out.text += ', '
      first = false
      out.text += `${pyStr(k)}: `
      reprInto((value as Record<string, unknown>)[k], out)
    }
    out.text += '}'
  } else out.text += String(value)
}

function pyNumber(n: number): string {
  if (Number.isNaN(n)) return 'nan'
  if (n === Infinity) return 'inf'
  if (n === -Infinity) return '-inf'
  return String(n)
}

function pyDate(d: Date): string {
  if (Number.isNaN(d.getTime())) return 'None'
  const parts = [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()]
  const time = [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
  const ms = d.getUTCMilliseconds()
  if (time.every((t) => t === 0) && ms === 0) return `datetime.date(${parts.join(', ')})`
  // datetime.datetime drops trailing zero fields after minute
  const fields = [...parts, time[0], time[1]]
  if (time[2] !== 0 || ms !== 0) fields.push(time[2])
  if (ms !== 0) fields.push(ms * 1000)
  return `datetime.datetime(${fields.join(', ')})`
}

/** Python's str.__repr__: prefer single quotes, switch to double when only ' occurs. */
export function pyStr(s: string): string {
  // quoting user data: the head and the true length, never megabytes of it
  if (s.length > REPR_MAX) return pyStrFull(s.slice(0, REPR_MAX)) + `… (${s.length.toLocaleString('en-US')} characters in all)`
  return pyStrFull(s)
}

function pyStrFull(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'"
  let out = quote
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0
    if (ch === quote || ch === '\\') out += '\\' + ch
    else if (ch === '\n') out += '\\n'
    else if (ch === '\r') out += '\\r'
    else if (ch === '\t') out += '\\t'
    else if (cp < 0x20 || cp === 0x7f) out += '\\x' + cp.toString(16).padStart(2, '0')
    else if ((cp >= 0x80 && cp < 0xa0) || cp === 0xad) out += '\\x' + cp.toString(16).padStart(2, '0')
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '\\u' + cp.toString(16).padStart(4, '0')
    else out += ch
  }
  return out + quote
}
