// Label and field selectors as the API server parses them (k8s.io/apimachinery/pkg/labels, fields).
import {StatusError, type KObject} from '../types.js'

type Requirement =
  | {key: string; op: 'eq' | 'neq'; value: string}
  | {key: string; op: 'in' | 'notin'; values: string[]}
  | {key: string; op: 'exists' | 'notexists'}

export type Selector = (o: KObject) => boolean

/** Split on commas that are not inside parentheses: `a in (x,y),b=c` → [`a in (x,y)`, `b=c`]. */
function splitTerms(s: string): string[] {
  const out: string[] = []
  let depth = 0
  let cur = ''
  for (const ch of s) {
    if (ch === '(') depth++
    if (ch === ')') depth--
    if (ch === ',' && depth === 0) {
      out.push(cur)
      cur = ''
    } else cur += ch
  }
  out.push(cur)
  return out.map((t) => t.trim()).filter((t) => t !== '')
}

function parseLabelTerm(term: string): Requirement {
  let m = /^([^\s!=()]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term)
  if (m) return {key: m[1], op: m[2] as 'in' | 'notin', values: m[3].split(',').map((v) => v.trim()).filter((v) => v !== '')}
  m = /^([^\s!=()]+)\s*(==|=|!=)\s*([^\s!=()]*)$/.exec(term)
  if (m) return {key: m[1], op: m[2] === '!=' ? 'neq' : 'eq', value: m[3]}
  m = /^!\s*([^\s!=()]+)$/.exec(term)
  if (m) return {key: m[1], op: 'notexists'}
  m = /^([^\s!=()]+)$/.exec(term)
  if (m) return {key: m[1], op: 'exists'}
  throw new StatusError(400, 'BadRequest', `unable to parse requirement: found '${term}', expected: in, notin, =, ==, !=, gt, lt`)
}

function matches(req: Requirement, get: (key: string) => string | undefined): boolean {
  const v = get(req.key)
  switch (req.op) {
    case 'eq':
      return v === req.value
    case 'neq':
      return v !== req.value
    case 'in':
      return v !== undefined && req.values.includes(v)
    case 'notin':
      return v === undefined || !req.values.includes(v)
    case 'exists':
      return v !== undefined
    case 'notexists':
      return v === undefined
  }
}

export function parseLabelSelector(sel: string | undefined): Selector {
  if (!sel) return () => true
  const reqs = splitTerms(sel).map(parseLabelTerm)
  return (o) => {
    const labels: Record<string, string> = o.metadata?.labels ?? {}
    return reqs.every((r) => matches(r, (k) => (Object.hasOwn(labels, k) ? labels[k] : undefined)))
  }
}

/** Field values: any dotted path (metadata.name, status.phase, spec.nodeName, type for Secrets …). */
function fieldValue(o: KObject, path: string): string | undefined {
  let cur: any = o
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined
    cur = cur[part]
  }
  if (cur === undefined || cur === null) return path === 'spec.nodeName' || path === 'status.phase' ? '' : undefined
  return String(cur)
}

export function parseFieldSelector(sel: string | undefined): Selector {
  if (!sel) return () => true
  const reqs = splitTerms(sel).map((term) => {
    const m = /^([^\s!=]+)\s*(==|=|!=)\s*(.*)$/.exec(term)
    if (!m) throw new StatusError(400, 'BadRequest', `invalid selector: '${sel}'; can't understand '${term}'`)
    return {key: m[1], op: m[2] === '!=' ? 'neq' : 'eq', value: m[3]} as Requirement
  })
  return (o) => reqs.every((r) => matches(r, (k) => fieldValue(o, k)))
}
