// Schema validation with Python-jsonschema parity. The ingestor runs
// Draft7Validator(schema).iter_errors(cfg) sorted by absolute_path; that yields one error per
// failing keyword, descends through allOf and if/then (errors land at their own paths, `if`
// itself reports nothing), and reports oneOf/anyOf/not as ONE error at that node. ajv (allErrors)
// reports differently, so its errors are reshaped here into exactly Python's (path, keyword) set,
// ordered like Python: by path elements, ties in jsonschema's emission order (depth-first over
// the schema in key order).
import validate, {schemaTree, type AjvErrorObject} from './generated/ingest-validator.js'
import {pyRepr, pyStr, REPR_MAX} from './pyrepr.js'

export type PathElement = string | number
type SchemaNode = Record<string, unknown>

export const TOP_LEVEL_NOT_MAPPING = 'ingest.yaml must be a mapping at the top level (apiVersion / kind / category / ...).'

/** An issue with its structured path and a sort key, before formatting. */
export interface RawIssue {
  path: PathElement[]
  keyword: string
  message: string
  order: number[]
}

export function schemaIssues(value: unknown): RawIssue[] {
  if (!isMapping(value)) return [{path: [], keyword: 'type', message: TOP_LEVEL_NOT_MAPPING, order: []}]
  const ok = validate(forAjv(value))
  if (ok || !validate.errors) return []
  const merged = new Map<string, {err: AjvErrorObject; path: PathElement[]; steps: Step[]; extras: string[]}>()
  const out: RawIssue[] = []
  for (const err of validate.errors) {
    if (err.keyword === 'if') continue // ajv's "must match then"; Python reports only then's errors
    const steps = walkSchemaPath(err.schemaPath)
    if (!steps || beneathCombinator(steps)) continue
    const path = instancePath(value, err.instancePath)
    if (err.keyword === 'additionalProperties' && typeof err.params.additionalProperty === 'string') {
      // Python: one error per node listing every unexpected key
      const k = err.instancePath + '\u0000' + err.schemaPath
      const m = merged.get(k)
      if (m) m.extras.push(err.params.additionalProperty)
      else merged.set(k, {err, path, steps, extras: [err.params.additionalProperty]})
      continue
    }
    out.push({path, keyword: err.keyword, message: message(err, steps, value, path), order: orderKey(steps, err)})
  }
  for (const {err, path, steps, extras} of merged.values()) {
    extras.sort(comparePyStr)
    const verb = extras.length === 1 ? 'was' : 'were'
    out.push({
      path,
      keyword: 'additionalProperties',
      // jsonschema lists every key; past 20 the message says how many more instead
      message: `Additional properties are not allowed (${extras.slice(0, 20).map(pyStr).join(', ')}${extras.length > 20 ? ` … and ${extras.length - 20} more` : ''} ${verb} unexpected)`,
      order: orderKey(steps, err),
    })
  }
  return out
}

export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date)
}

/** Python sorts by list(absolute_path): elementwise, ints numerically, shorter prefix first. Stable. */
export function comparePaths(a: PathElement[], b: PathElement[]): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a[i]
    const y = b[i]
    if (x === y) continue
    if (typeof x === 'number' && typeof y === 'number') return x - y
    if (typeof x === 'number') return -1 // cannot happen in one document; keep the sort total
    if (typeof y === 'number') return 1
    return comparePyStr(x, y)
  }
  return a.length - b.length
}

export function compareOrder(a: number[], b: number[]): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i]
  return a.length - b.length
}

/** Python compares str by code point; JS `<` by UTF-16 unit. */
function comparePyStr(x: string, y: string): number {
  const xs = [...x]
  const ys = [...y]
  const n = Math.min(xs.length, ys.length)
  for (let i = 0; i < n; i++) {
    const d = (xs[i].codePointAt(0) ?? 0) - (ys[i].codePointAt(0) ?? 0)
    if (d !== 0) return d
  }
  return xs.length - ys.length
}

export function dottedPath(path: PathElement[]): string {
  return path.length === 0 ? '<root>' : path.map(String).join('.')
}

// PyYAML dates are neither strings nor objects to jsonschema; JS Dates would pass `type: object`.
// Hand ajv an opaque stand-in that fails every type test, keep the Date for messages.
const OPAQUE = Symbol('yaml-timestamp')
function forAjv(value: unknown): unknown {
  if (value instanceof Date) return OPAQUE
  if (Array.isArray(value)) return value.map(forAjv)
  if (isMapping(value)) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = forAjv(v)
    return out
  }
  return value
}

const unescapePointer = (s: string) => s.replace(/~1/g, '/').replace(/~0/g, '~')

function instancePath(root: unknown, pointer: string): PathElement[] {
  if (pointer === '') return []
  const out: PathElement[] = []
  let node: unknown = root
  for (const raw of pointer.slice(1).split('/')) {
    const tok = unescapePointer(raw)
    if (Array.isArray(node)) {
      const i = Number(tok)
      out.push(i)
      node = node[i]
    } else {
      out.push(tok)
      node = isMapping(node) ? node[tok] : undefined
    }
  }
  return out
}

function valueAt(root: unknown, path: PathElement[]): unknown {
  let node: unknown = root
  for (const p of path) {
    if (Array.isArray(node) && typeof p === 'number') node = node[p]
    else if (isMapping(node) && typeof p === 'string') node = node[p]
    else return undefined
  }
  return node
}

/** One applicator/keyword step along an ajv schemaPath, with its position in jsonschema's walk. */
interface Step {
  keyword: string
  node: SchemaNode // the schema object the keyword belongs to
  index: number // position of the keyword among the node's keys (then/else count as their `if`)
  sub?: number // position of the child (property name order, array index)
  child?: unknown
}

const NAMED_CHILD = new Set(['properties', 'patternProperties', 'definitions', 'dependencies'])
const INDEXED_CHILD = new Set(['allOf', 'anyOf', 'oneOf'])
const SINGLE_CHILD = new Set(['not', 'if', 'then', 'else', 'additionalProperties', 'contains', 'propertyNames', 'additionalItems'])

function walkSchemaPath(schemaPath: string): Step[] | undefined {
  const toks = schemaPath.replace(/^#\/?/, '').split('/').filter((t) => t !== '').map(unescapePointer)
  const steps: Step[] = []
  let node = schemaTree as SchemaNode
  for (let i = 0; i < toks.length; i++) {
    const kw = toks[i]
    const keys = Object.keys(node)
    const index = keys.indexOf(kw === 'then' || kw === 'else' ? 'if' : kw)
    const step: Step = {keyword: kw, node, index: index < 0 ? keys.length : index}
    steps.push(step)
    const val = node[kw]
    if (i === toks.length - 1) {
      step.child = val
      break
    }
    if (NAMED_CHILD.has(kw)) {
      const name = toks[++i]
      const container = val as SchemaNode
      step.sub = Object.keys(container).indexOf(name)
      node = container[name] as SchemaNode
    } else if (INDEXED_CHILD.has(kw) || (kw === 'items' && Array.isArray(val))) {
      const idx = Number(toks[++i])
      step.sub = idx
      node = (val as SchemaNode[])[idx]
    } else if (SINGLE_CHILD.has(kw) || kw === 'items') {
      node = val as SchemaNode
    } else {
      return undefined // unknown structure: never drop silently into a wrong order; skip
    }
    if (typeof node !== 'object' || node === null) return undefined
  }
  return steps
}

/** Errors raised inside a oneOf/anyOf branch or under `not` are not reported by jsonschema. */
function beneathCombinator(steps: Step[]): boolean {
  for (let i = 0; i < steps.length - 1; i++) {
    if (INDEXED_CHILD.has(steps[i].keyword) && steps[i].keyword !== 'allOf') return true
    if (steps[i].keyword === 'not' || steps[i].keyword === 'if') return true
  }
  return false
}

function orderKey(steps: Step[], err: AjvErrorObject): number[] {
  const key: number[] = []
  for (const s of steps) {
    key.push(s.index)
    if (s.sub !== undefined) key.push(s.sub)
  }
  // `required` yields one error per missing name, in the order of the required array
  const last = steps.at(-1)
  if (err.keyword === 'required' && Array.isArray(last?.child)) key.push((last.child as unknown[]).indexOf(err.params.missingProperty))
  return key
}

// --- messages: jsonschema 4.x wording, except for combinators where a repr dump helps nobody ---

function message(err: AjvErrorObject, steps: Step[], root: unknown, path: PathElement[]): string {
  const inst = valueAt(root, path)
  const last = steps.at(-1)
  const sv = last?.child
  // the instance is user data: quoted up to REPR_MAX characters
  const r = () => pyRepr(inst, REPR_MAX)
  switch (err.keyword) {
    case 'required':
      return `${pyStr(String(err.params.missingProperty))} is a required property`
    case 'type': {
      const types = Array.isArray(sv) ? sv : [sv]
      return `${r()} is not of type ${types.map((t) => pyStr(String(t))).join(', ')}`
    }
    case 'const':
      return `${pyRepr(sv)} was expected`
    case 'enum':
      return `${r()} is not one of ${pyRepr(sv)}`
    case 'minLength':
      return sv === 1 ? `${r()} should be non-empty` : `${r()} is too short`
    case 'maxLength':
      return `${r()} is too long`
    case 'minItems':
      return sv === 1 ? `${r()} should be non-empty` : `${r()} is too short`
    case 'maxItems':
      return sv === 0 ? `${r()} is expected to be empty` : `${r()} is too long`
    case 'minProperties':
      return sv === 1 ? `${r()} should be non-empty` : `${r()} does not have enough properties`
    case 'maxProperties':
      return `${r()} has too many properties`
    case 'minimum':
      return `${r()} is less than the minimum of ${pyRepr(sv)}`
    case 'maximum':
      return `${r()} is greater than the maximum of ${pyRepr(sv)}`
    case 'exclusiveMinimum':
      return `${r()} is less than or equal to the minimum of ${pyRepr(sv)}`
    case 'exclusiveMaximum':
      return `${r()} is greater than or equal to the maximum of ${pyRepr(sv)}`
    case 'pattern':
      return `${r()} does not match ${pyRepr(sv)}`
    case 'uniqueItems':
      return `${r()} has non-unique elements`
    case 'oneOf':
    case 'anyOf':
      return combinatorMessage(err, sv as SchemaNode[], inst)
    case 'not':
      return notMessage(sv as SchemaNode, steps, root, inst)
    default:
      return `${r()} is not valid (${err.keyword})`
  }
}

function combinatorMessage(err: AjvErrorObject, branches: SchemaNode[], inst: unknown): string {
  const passing = err.params.passingSchemas
  // "exactly one source" shape: [{required:[a], not:{required:[b]}}, {required:[b], not:{required:[a]}}]
  const names = branches.map((b) => (Array.isArray(b.required) && b.required.length === 1 ? String(b.required[0]) : undefined))
  if (err.keyword === 'oneOf' && names.every((n) => n !== undefined) && isMapping(inst)) {
    const list = names.map((n) => pyStr(n as string))
    const set = names.filter((n) => Object.hasOwn(inst, n as string))
    const head = `exactly one of ${list.slice(0, -1).join(', ')} or ${list.at(-1)} is required`
    return set.length === 0 ? `${head}; neither is set` : `${head}, not both (${set.map((n) => pyStr(n as string)).join(' and ')} are set)`
  }
  const what = branches.map(describeSchema).join(', or ')
  if (Array.isArray(passing) && passing.length > 1) return `${pyRepr(inst)} matches more than one of: ${what}`
  return `${pyRepr(inst)} is not valid: expected ${what}`
}

function describeSchema(s: SchemaNode): string {
  if (s.type === 'string') return typeof s.minLength === 'number' && s.minLength >= 1 ? 'a non-empty string' : 'a string'
  if (s.type === 'object' && isMapping(s.properties)) {
    const req = new Set(Array.isArray(s.required) ? s.required.map(String) : [])
    const props = Object.entries(s.properties).map(([k, v]) => {
      const sub = v as SchemaNode
      const en = Array.isArray(sub.enum) ? ` (${sub.enum.map((e) => pyRepr(e)).join(' or ')})` : ''
      return `${k}${req.has(k) ? ' (required)' : ''}${en}`
    })
    return `an object with ${props.join(', ')}${s.additionalProperties === false ? ' and no other keys' : ''}`
  }
  if (typeof s.type === 'string') return `a value of type ${s.type}`
  return 'the alternative schema'
}

function notMessage(sub: SchemaNode, steps: Step[], root: unknown, inst: unknown): string {
  if (Array.isArray(sub?.required) && sub.required.length > 0 && Object.keys(sub).length === 1) {
    const keys = sub.required.map((k) => pyStr(String(k))).join(', ')
    const category = isMapping(root) && typeof root.category === 'string' && steps.some((s) => s.keyword === 'then') ? ` for category ${pyStr(root.category)}` : ''
    return `${keys} must not be set${category}`
  }
  return `${pyRepr(inst)} should not be valid under ${pyRepr(sub)}`
}
