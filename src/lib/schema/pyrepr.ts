// Python repr() of parsed YAML values, so messages read the way the ingestor (jsonschema + PyYAML)
// prints them: 'single-quoted' strings, True/False/None, [a, b], {'k': v}, datetime.date(…).

export function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None'
  if (value === true) return 'True'
  if (value === false) return 'False'
  if (typeof value === 'number') return pyNumber(value)
  if (typeof value === 'bigint') return value.toString()
  if (typeof value === 'string') return pyStr(value)
  if (value instanceof Date) return pyDate(value)
  if (Array.isArray(value)) return '[' + value.map((v) => pyRepr(v)).join(', ') + ']'
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
    return '{' + entries.map(([k, v]) => `${pyStr(k)}: ${pyRepr(v)}`).join(', ') + '}'
  }
  return String(value)
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
