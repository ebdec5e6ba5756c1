// Field errors as k8s.io/apimachinery/pkg/util/validation/field renders them, the name and label
// rules of pkg/util/validation, and the metav1.Status each kind of failure becomes.
import {StatusError} from '../../types.js'

export type CauseType =
  | 'FieldValueRequired'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueDuplicate'
  | 'FieldValueNotFound'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'

export interface FieldError {
  type: CauseType
  field: string
  value?: unknown
  detail?: string
}

const OMIT = Symbol('omit')
const TYPE_TEXT: Record<CauseType, string> = {
  FieldValueRequired: 'Required value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueNotFound: 'Not found',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
}

export const required = (field: string, detail = ''): FieldError => ({type: 'FieldValueRequired', field, value: OMIT, detail})
export const invalid = (field: string, value: unknown, detail: string): FieldError => ({type: 'FieldValueInvalid', field, value, detail})
export const forbidden = (field: string, detail: string): FieldError => ({type: 'FieldValueForbidden', field, value: OMIT, detail})
export const duplicate = (field: string, value: unknown): FieldError => ({type: 'FieldValueDuplicate', field, value})
export const notFound = (field: string, value: unknown): FieldError => ({type: 'FieldValueNotFound', field, value})
export const tooLong = (field: string, max: number): FieldError => ({type: 'FieldValueTooLong', field, value: OMIT, detail: `may not be more than ${max} bytes`})
export const notSupported = (field: string, value: unknown, supported: readonly string[]): FieldError => ({
  type: 'FieldValueNotSupported',
  field,
  value,
  detail: supported.length ? `supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}` : '',
})

/** Go's %q for strings, %v for numbers and booleans, JSON for the rest (field.Error.ErrorBody). */
export function goValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v)
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  if (v === undefined || v === null) return 'null'
  return JSON.stringify(v)
}

export function errorBody(e: FieldError): string {
  let s = TYPE_TEXT[e.type]
  if (e.value !== OMIT && e.type !== 'FieldValueRequired' && e.type !== 'FieldValueForbidden' && e.type !== 'FieldValueTooLong') s += `: ${goValue(e.value)}`
  if (e.detail) s += `: ${e.detail}`
  return s
}

export const errorText = (e: FieldError): string => `${e.field}: ${errorBody(e)}`

/** `Pod "x" is invalid: a` for one error, `[a, b]` for several (errors.NewInvalid + ToAggregate, duplicates dropped). */
export function invalidError(kind: string, group: string, name: string, errs: FieldError[]): StatusError {
  const qualified = group ? `${kind}.${group}` : kind
  const msgs = [...new Set(errs.map(errorText))]
  const agg = msgs.length === 1 ? msgs[0] : `[${msgs.join(', ')}]`
  return new StatusError(422, 'Invalid', `${qualified} "${name}" is invalid: ${agg}`, {
    name,
    group: group || undefined,
    kind,
    causes: errs.map((e) => ({reason: e.type, message: errorBody(e), field: e.field})),
  })
}

// --- names and labels (pkg/util/validation) ------------------------------------------------

const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?'
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`
const DNS1035_LABEL_FMT = '[a-z]([-a-z0-9]*[a-z0-9])?'
const LABEL_KEY_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]'
const LABEL_VALUE_FMT = `(${LABEL_KEY_FMT})?`
const full = (f: string) => new RegExp(`^${f}$`)
const DNS1123_LABEL = full(DNS1123_LABEL_FMT)
const DNS1123_SUBDOMAIN = full(DNS1123_SUBDOMAIN_FMT)
const DNS1035_LABEL = full(DNS1035_LABEL_FMT)
const LABEL_KEY = full(LABEL_KEY_FMT)
const LABEL_VALUE = full(LABEL_VALUE_FMT)

export function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`
  return `${msg} (e.g. ${examples.map((e) => `'${e}', `).join(' or ')}regex used for validation is '${fmt}')`
}
const maxLen = (n: number) => `must be no more than ${n} characters`

export function isDns1123Label(v: string): string[] {
  const errs: string[] = []
  if (v.length > 63) errs.push(maxLen(63))
  if (!DNS1123_LABEL.test(v)) {
    if (DNS1123_SUBDOMAIN.test(v)) errs.push('must not contain dots')
    else errs.push(regexError("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character", DNS1123_LABEL_FMT, 'my-name', '123-abc'))
  }
  return errs
}

export function isDns1123Subdomain(v: string): string[] {
  const errs: string[] = []
  if (v.length > 253) errs.push(maxLen(253))
  if (!DNS1123_SUBDOMAIN.test(v)) errs.push(regexError("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character", DNS1123_SUBDOMAIN_FMT, 'example.com'))
  return errs
}

export function isDns1035Label(v: string): string[] {
  const errs: string[] = []
  if (v.length > 63) errs.push(maxLen(63))
  if (!DNS1035_LABEL.test(v)) errs.push(regexError("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character", DNS1035_LABEL_FMT, 'my-name', 'abc-123'))
  return errs
}

const LABEL_KEY_MSG = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"

/** A label key / qualified name: optional DNS-subdomain prefix and '/', then a ≤ 63-char name. */
export function isQualifiedName(v: string): string[] {
  const errs: string[] = []
  const parts = v.split('/')
  let name: string
  if (parts.length === 1) name = parts[0]
  else if (parts.length === 2) {
    const prefix = parts[0]
    name = parts[1]
    if (prefix.length === 0) errs.push('prefix part must be non-empty')
    else errs.push(...isDns1123Subdomain(prefix).map((m) => `prefix part ${m}`))
  } else {
    return [`a qualified name ${regexError(LABEL_KEY_MSG, LABEL_KEY_FMT, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`]
  }
  if (name.length === 0) errs.push('name part must be non-empty')
  else if (name.length > 63) errs.push(`name part ${maxLen(63)}`)
  if (!LABEL_KEY.test(name)) errs.push(`name part ${regexError(LABEL_KEY_MSG, LABEL_KEY_FMT, 'MyName', 'my.name', '123-abc')}`)
  return errs
}

export function isLabelValue(v: string): string[] {
  const errs: string[] = []
  if (v.length > 63) errs.push(maxLen(63))
  if (!LABEL_VALUE.test(v)) errs.push(regexError("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character", LABEL_VALUE_FMT, 'MyValue', 'my_value', '12345'))
  return errs
}

const CONFIG_KEY_FMT = '[-._a-zA-Z0-9]+'
export function isConfigMapKey(v: string): string[] {
  const errs: string[] = []
  if (v.length > 253) errs.push(maxLen(253))
  if (!full(CONFIG_KEY_FMT).test(v)) errs.push(regexError("a valid config key must consist of alphanumeric characters, '-', '_' or '.'", CONFIG_KEY_FMT, 'key.name', 'KEY_NAME', 'key-name'))
  if (v === '.') errs.push("must not be '.'")
  else if (v === '..') errs.push("must not be '..'")
  else if (v.startsWith('..')) errs.push("must not start with '..'")
  return errs
}

const ENV_VAR_FMT = '[-._a-zA-Z][-._a-zA-Z0-9]*'
export function isEnvVarName(v: string): string[] {
  const errs: string[] = []
  if (!full(ENV_VAR_FMT).test(v)) errs.push(regexError("a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit", ENV_VAR_FMT, 'my.env-name', 'MY_ENV.NAME', 'MyEnvName1'))
  if (v === '.') errs.push("must not be '.'")
  else if (v === '..') errs.push("must not be '..'")
  else if (v.startsWith('..')) errs.push("must not start with '..'")
  return errs
}

export const inRange = (lo: number, hi: number) => `must be between ${lo} and ${hi}, inclusive`
