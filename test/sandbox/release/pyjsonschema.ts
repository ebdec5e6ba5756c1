// A Draft-07 validator that words its errors like Python's `jsonschema` 4.2x (the library the real
// ingestor and jobs-manager use), so the sandbox reproduces docs/protocol.md#ingestor-config-errors byte for byte:
// keyword order = schema key order, values rendered with Python repr, errors sorted by path lists.
// Only the keywords the ingest.v1 schemas use are implemented.
type Json = null | boolean | number | string | Json[] | {[k: string]: Json}
type Schema = boolean | {[k: string]: any}

export interface PyValidationError {
  path: (string | number)[]
  message: string
}

/** Python repr() of a JSON value (dict/list/str/int/float/bool/None). */
export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None'
  if (v === true) return 'True'
  if (v === false) return 'False'
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : pyFloat(v)
  if (typeof v === 'string') return pyStr(v)
  if (v instanceof Date) return `datetime.date(${v.getUTCFullYear()}, ${v.getUTCMonth() + 1}, ${v.getUTCDate()})`
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`
  if (typeof v === 'object') {
    return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${pyStr(k)}: ${pyRepr(x)}`).join(', ')}}`
  }
  return String(v)
}

function pyFloat(v: number): string {
  if (Number.isNaN(v)) return 'nan'
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf'
  const s = String(v)
  return /[.e]/.test(s) ? s.replace(/e\+?/, 'e+').replace('e+-', 'e-') : `${s}.0`
}

function pyStr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'"
  let out = quote
  for (const ch of s) {
    const c = ch.codePointAt(0)!
    if (ch === '\\') out += '\\\\'
    else if (ch === quote) out += `\\${quote}`
    else if (ch === '\n') out += '\\n'
    else if (ch === '\r') out += '\\r'
    else if (ch === '\t') out += '\\t'
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`
    else out += ch
  }
  return out + quote
}

function isType(v: unknown, t: string): boolean {
  switch (t) {
    case 'object': return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date)
    case 'array': return Array.isArray(v)
    case 'string': return typeof v === 'string'
    case 'integer': return typeof v === 'number' && Number.isInteger(v)
    case 'number': return typeof v === 'number'
    case 'boolean': return typeof v === 'boolean'
    case 'null': return v === null
    default: return false
  }
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b) && typeof a === typeof b
}

function* iterErrors(schema: Schema, inst: unknown, path: (string | number)[]): Generator<PyValidationError> {
  if (schema === true) return
  if (schema === false) {
    yield {path, message: `False schema does not allow ${pyRepr(inst)}`}
    return
  }
  for (const [kw, val] of Object.entries(schema)) {
    switch (kw) {
      case 'type': {
        const types: string[] = Array.isArray(val) ? val : [val]
        if (!types.some((t) => isType(inst, t))) yield {path, message: `${pyRepr(inst)} is not of type ${types.map(pyStr).join(', ')}`}
        break
      }
      case 'required':
        if (isType(inst, 'object')) {
          for (const p of val as string[]) if (!(p in (inst as object))) yield {path, message: `${pyStr(p)} is a required property`}
        }
        break
      case 'properties':
        if (isType(inst, 'object')) {
          const o = inst as Record<string, unknown>
          for (const [p, sub] of Object.entries(val as Record<string, Schema>)) {
            if (p in o) yield* iterErrors(sub, o[p], [...path, p])
          }
        }
        break
      case 'additionalProperties':
        if (isType(inst, 'object')) {
          const props = Object.keys((schema as any).properties ?? {})
          const extras = Object.keys(inst as object).filter((k) => !props.includes(k))
          if (val === false) {
            if (extras.length > 0) {
              const verb = extras.length === 1 ? 'was' : 'were'
              yield {path, message: `Additional properties are not allowed (${extras.map(pyStr).join(', ')} ${verb} unexpected)`}
            }
          } else if (typeof val === 'object') {
            for (const k of extras) yield* iterErrors(val, (inst as any)[k], [...path, k])
          }
        }
        break
      case 'items':
        if (Array.isArray(inst)) {
          if (Array.isArray(val)) {
            for (let i = 0; i < Math.min(val.length, inst.length); i++) yield* iterErrors(val[i], inst[i], [...path, i])
          } else {
            for (let i = 0; i < inst.length; i++) yield* iterErrors(val, inst[i], [...path, i])
          }
        }
        break
      case 'enum':
        if (!(val as unknown[]).some((e) => deepEqual(e, inst))) yield {path, message: `${pyRepr(inst)} is not one of ${pyRepr(val)}`}
        break
      case 'const':
        if (!deepEqual(val, inst)) yield {path, message: `${pyRepr(val)} was expected`}
        break
      case 'minLength':
        if (typeof inst === 'string' && [...inst].length < val) yield {path, message: `${pyRepr(inst)} ${val === 1 ? 'should be non-empty' : 'is too short'}`}
        break
      case 'maxLength':
        if (typeof inst === 'string' && [...inst].length > val) yield {path, message: `${pyRepr(inst)} ${val === 0 ? 'is expected to be empty' : 'is too long'}`}
        break
      case 'minItems':
        if (Array.isArray(inst) && inst.length < val) yield {path, message: `${pyRepr(inst)} ${val === 1 ? 'should be non-empty' : 'is too short'}`}
        break
      case 'maxItems':
        if (Array.isArray(inst) && inst.length > val) yield {path, message: `${pyRepr(inst)} ${val === 0 ? 'is expected to be empty' : 'is too long'}`}
        break
      case 'minProperties':
        if (isType(inst, 'object') && Object.keys(inst as object).length < val) {
          yield {path, message: `${pyRepr(inst)} ${val === 1 ? 'should be non-empty' : 'does not have enough properties'}`}
        }
        break
      case 'minimum':
        if (typeof inst === 'number' && inst < val) yield {path, message: `${pyRepr(inst)} is less than the minimum of ${pyRepr(val)}`}
        break
      case 'maximum':
        if (typeof inst === 'number' && inst > val) yield {path, message: `${pyRepr(inst)} is greater than the maximum of ${pyRepr(val)}`}
        break
      case 'pattern':
        if (typeof inst === 'string' && !new RegExp(val, 'u').test(inst)) yield {path, message: `${pyRepr(inst)} does not match ${pyRepr(val)}`}
        break
      case 'allOf':
        for (const sub of val as Schema[]) yield* iterErrors(sub, inst, path)
        break
      case 'anyOf':
        if (!(val as Schema[]).some((sub) => isValid(sub, inst))) yield {path, message: `${pyRepr(inst)} is not valid under any of the given schemas`}
        break
      case 'oneOf': {
        const ok = (val as Schema[]).filter((sub) => isValid(sub, inst))
        if (ok.length === 0) yield {path, message: `${pyRepr(inst)} is not valid under any of the given schemas`}
        else if (ok.length > 1) yield {path, message: `${pyRepr(inst)} is valid under each of ${ok.map(pyRepr).join(', ')}`}
        break
      }
      case 'not':
        if (isValid(val, inst)) yield {path, message: `${pyRepr(inst)} should not be valid under ${pyRepr(val)}`}
        break
      case 'if':
        if (isValid(val, inst)) {
          if ('then' in schema) yield* iterErrors(schema.then, inst, path)
        } else if ('else' in schema) {
          yield* iterErrors(schema.else, inst, path)
        }
        break
      default:
        break // annotations ($id, title, description, default, then/else handled by `if`)
    }
  }
}

function isValid(schema: Schema, inst: unknown): boolean {
  return iterErrors(schema, inst, []).next().done === true
}

function comparePaths(a: (string | number)[], b: (string | number)[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]
    const y = b[i]
    if (x === y) continue
    if (typeof x === 'number' && typeof y === 'number') return x - y
    return String(x) < String(y) ? -1 : 1
  }
  return a.length - b.length
}

/** Errors sorted like the ingestor's `sorted(iter_errors(cfg), key=lambda e: list(e.absolute_path))` (stable). */
export function validatePy(schema: Schema, instance: Json | unknown): PyValidationError[] {
  return [...iterErrors(schema, instance, [])].sort((a, b) => comparePaths(a.path, b.path))
}

/** `_format_errors`: `  <dotted.path or <root>>: <message>` joined by newlines, no trailing newline. */
export function formatPyErrors(errors: PyValidationError[]): string {
  return errors.map((e) => `  ${e.path.length ? e.path.join('.') : '<root>'}: ${e.message}`).join('\n')
}
