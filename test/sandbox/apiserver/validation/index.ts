// Request validation as kube-apiserver does it, in its order: decode (400), options (422 on the
// *Options kind), per-kind validation of the resulting object (422 Invalid with details.causes),
// then admission (Pod Security, 403). The router calls these for every create/update/patch/delete
// it serves; the contract test calls them on recorded CLI requests.
import {randomInt} from 'node:crypto'
import {StatusError, type KObject} from '../../types.js'
import {invalid, invalidError, notSupported, required, tooLong, type FieldError} from './field.js'
import {validateKind, validateObjectMeta, validateUpdate} from './objects.js'
import {checkSchema} from './schema.js'
import {applyCreateDefaults} from '../objects.js'
import type {ResourceInfo} from '../resources.js'
import {checkPodSecurity, enforcedLevel} from './pss.js'

export {checkPodSecurity, enforcedLevel}
export {invalidError} from './field.js'

export interface KindInfo {
  group: string
  version: string
  resource: string
  kind: string
  namespaced: boolean
}

/** 400 `Pod in version "v1" cannot be handled as a Pod: …` for a body the schema's types reject. */
export function decodeOrThrow(info: KindInfo, body: unknown): FieldError[] {
  const r = checkSchema(info.kind, body)
  if (r.decodeError) throw new StatusError(400, 'BadRequest', `${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: ${r.decodeError}`)
  return r.errors
}

/** The whole object after defaulting: metadata, the kind's rules, the schema's enums and required fields. */
export function validateObject(info: KindInfo, o: KObject, old?: KObject): void {
  const errs = [...checkSchema(info.kind, o).errors, ...validateObjectMeta(o.metadata ?? {}, info.resource, info.namespaced), ...validateKind(info.resource, o)]
  if (old) errs.push(...validateUpdate(info.resource, o, old))
  // the schema and the hand-written rules overlap (required names): one cause each
  const seen = new Set<string>()
  const unique = errs.filter((e) => {
    const k = `${e.type} ${e.field} ${e.detail ?? ''}`
    return !seen.has(k) && !!seen.add(k)
  })
  if (unique.length) throw invalidError(info.kind, info.group, o.metadata?.name ?? '', unique)
}

// --- generateName (names.SimpleNameGenerator) ----------------------------------------------

const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789'
export function generateName(base: string): string {
  const b = base.length > 58 ? base.slice(0, 58) : base
  let s = ''
  for (let i = 0; i < 5; i++) s += ALPHANUMS[randomInt(ALPHANUMS.length)]
  return b + s
}

/** What create admission needs to know about the cluster. */
export interface CreateEnv {
  /** The target namespace object (undefined: it does not exist → 404). */
  namespace?: KObject
  serviceAccountExists(name: string): boolean
}

/**
 * Everything kube-apiserver does to a create body before storing it, in its order: decode (400),
 * namespace lifecycle (404), name generation, defaulting, ServiceAccount admission (403),
 * validation (422), Pod Security (403). Returns the object to store; `body` is consumed.
 */
export function admitCreate(info: ResourceInfo, ns: string | undefined, body: KObject, env: CreateEnv): KObject {
  const version = info.group ? `${info.group}/${info.version}` : info.version
  if (body.kind && body.kind !== info.kind) throw new StatusError(400, 'BadRequest', `the API version in the data (${body.apiVersion}) does not match the expected API version (${version})`)
  if (body.metadata !== undefined && (body.metadata === null || typeof body.metadata !== 'object')) decodeOrThrow(info, {...body, apiVersion: version, kind: info.kind})
  body.metadata ??= {}
  if (info.namespaced) {
    if (body.metadata.namespace && body.metadata.namespace !== ns) throw new StatusError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request')
    body.metadata.namespace = ns
  } else delete body.metadata.namespace
  for (const f of ['uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds'] as const) delete body.metadata[f]
  body.apiVersion = version
  body.kind = info.kind
  decodeOrThrow(info, body)
  if (info.namespaced && !env.namespace) {
    throw new StatusError(404, 'NotFound', `namespaces "${ns}" not found`, {name: ns, kind: 'namespaces'})
  }
  if (!body.metadata.name && body.metadata.generateName) body.metadata.name = generateName(String(body.metadata.generateName))
  applyCreateDefaults(info, body)
  const sa = info.resource === 'pods' ? body.spec?.serviceAccountName : undefined
  // the ServiceAccount admission plugin ("default" always exists)
  if (sa && sa !== 'default' && !env.serviceAccountExists(sa)) {
    throw new StatusError(403, 'Forbidden', `pods "${body.metadata.name}" is forbidden: error looking up service account ${ns}/${sa}: serviceaccount "${sa}" not found`, {name: body.metadata.name, kind: 'pods'})
  }
  validateObject(info, body)
  if (info.resource === 'pods') {
    const level = enforcedLevel(env.namespace)
    const denied = level && checkPodSecurity(level, body.metadata.name, body.spec)
    if (denied) throw denied
  }
  return body
}

// --- options --------------------------------------------------------------------------------

const optionsError = (kind: string, errs: FieldError[]) => invalidError(kind, 'meta.k8s.io', '', errs)

function commonOptionErrors(q: URLSearchParams): FieldError[] {
  const errs: FieldError[] = []
  const dry = q.getAll('dryRun')
  if (dry.some((d) => d !== 'All')) errs.push(notSupported('dryRun', dry, ['All']))
  const fv = q.get('fieldValidation')
  if (fv !== null && !['', 'Ignore', 'Strict', 'Warn'].includes(fv)) errs.push(notSupported('fieldValidation', fv, ['', 'Ignore', 'Strict', 'Warn']))
  const fm = q.get('fieldManager') ?? ''
  if (fm.length > 128) errs.push(tooLong('fieldManager', 128))
  return errs
}

export function validateCreateOptions(q: URLSearchParams, kind: 'CreateOptions' | 'UpdateOptions'): void {
  const errs = commonOptionErrors(q)
  if (errs.length) throw optionsError(kind, errs)
}

export const PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml']

export function validatePatchRequest(q: URLSearchParams, contentType: string, patch: unknown): void {
  if (!PATCH_TYPES.includes(contentType)) {
    throw new StatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.join(', ')}`)
  }
  const errs = commonOptionErrors(q)
  if (contentType === 'application/apply-patch+yaml' && !q.get('fieldManager')) errs.push(required('fieldManager', 'is required for apply patch'))
  if (contentType !== 'application/apply-patch+yaml' && q.get('force') !== null) errs.push({type: 'FieldValueForbidden', field: 'force', detail: 'may not be specified for non-apply patch'})
  if (errs.length) throw optionsError('PatchOptions', errs)
  if (contentType === 'application/json-patch+json') {
    if (!Array.isArray(patch)) throw new StatusError(400, 'BadRequest', 'json: cannot unmarshal object into Go value of type jsonpatch.Patch')
    for (const op of patch) {
      if (!op || typeof op !== 'object' || typeof op.op !== 'string') throw new StatusError(422, 'Invalid', 'the server rejected our request due to an error in our request')
      if (!['add', 'remove', 'replace', 'move', 'copy', 'test'].includes(op.op)) throw new StatusError(422, 'Invalid', `the server rejected our request due to an error in our request: Unexpected kind: ${op.op}`)
      if (typeof op.path !== 'string' || (op.path !== '' && !op.path.startsWith('/'))) throw new StatusError(422, 'Invalid', `the server rejected our request due to an error in our request: add operation does not apply: doc is missing path: ${op.path}`)
    }
  } else if (contentType !== 'application/apply-patch+yaml' && (patch === null || typeof patch !== 'object' || Array.isArray(patch))) {
    throw new StatusError(400, 'BadRequest', `json: cannot unmarshal ${Array.isArray(patch) ? 'array' : typeof patch} into Go value of type map[string]interface {}`)
  }
}

export interface DeleteOptions {
  kind?: string
  apiVersion?: string
  gracePeriodSeconds?: number
  propagationPolicy?: string
  orphanDependents?: boolean
  dryRun?: string[]
  preconditions?: {uid?: string; resourceVersion?: string}
}

/** Query parameters override the body, as the real handler merges them. 400 on unparsable numbers. */
export function deleteOptionsOf(body: unknown, q: URLSearchParams): DeleteOptions {
  if (body !== undefined && (body === null || typeof body !== 'object' || Array.isArray(body))) throw new StatusError(400, 'BadRequest', 'the object provided is unrecognized')
  const opts: DeleteOptions = {...(body as DeleteOptions | undefined)}
  if (opts.kind !== undefined && opts.kind !== 'DeleteOptions') throw new StatusError(400, 'BadRequest', `the kind of the body (${opts.kind}) is not DeleteOptions`)
  const g = q.get('gracePeriodSeconds')
  if (g !== null) {
    if (!/^-?\d+$/.test(g)) throw new StatusError(400, 'BadRequest', `strconv.ParseInt: parsing ${JSON.stringify(g)}: invalid syntax`)
    opts.gracePeriodSeconds = Number(g)
  }
  if (opts.gracePeriodSeconds !== undefined && !Number.isInteger(opts.gracePeriodSeconds)) throw new StatusError(400, 'BadRequest', 'json: cannot unmarshal number into Go struct field DeleteOptions.gracePeriodSeconds of type int64')
  const p = q.get('propagationPolicy')
  if (p !== null) opts.propagationPolicy = p
  const o = q.get('orphanDependents')
  if (o !== null) opts.orphanDependents = o === 'true'
  if (q.getAll('dryRun').length) opts.dryRun = q.getAll('dryRun')
  const errs: FieldError[] = []
  if (opts.orphanDependents !== undefined && opts.propagationPolicy !== undefined) errs.push(invalid('propagationPolicy', opts.propagationPolicy, 'orphanDependents and deletionPropagation cannot be both set'))
  if (opts.propagationPolicy !== undefined && !['Foreground', 'Background', 'Orphan'].includes(opts.propagationPolicy)) {
    errs.push(notSupported('propagationPolicy', opts.propagationPolicy, ['Foreground', 'Background', 'Orphan', 'nil']))
  }
  if ((opts.dryRun ?? []).some((d) => d !== 'All')) errs.push(notSupported('dryRun', opts.dryRun, ['All']))
  if (errs.length) throw optionsError('DeleteOptions', errs)
  return opts
}

// --- list / watch / log / exec query parameters ----------------------------------------------

const intParam = (q: URLSearchParams, k: string): number | undefined => {
  const v = q.get(k)
  if (v === null || v === '') return undefined
  if (!/^-?\d+$/.test(v)) throw new StatusError(400, 'BadRequest', `strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`)
  return Number(v)
}

const boolParam = (q: URLSearchParams, k: string): void => {
  const v = q.get(k)
  if (v !== null && !['', '1', '0', 't', 'f', 'T', 'F', 'true', 'false', 'TRUE', 'FALSE', 'True', 'False'].includes(v)) {
    throw new StatusError(400, 'BadRequest', `strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`)
  }
}

export function validateListOptions(q: URLSearchParams): void {
  intParam(q, 'limit')
  intParam(q, 'timeoutSeconds')
  for (const b of ['watch', 'allowWatchBookmarks', 'sendInitialEvents']) boolParam(q, b)
  const rv = q.get('resourceVersion')
  if (rv && !/^\d+$/.test(rv)) throw new StatusError(400, 'BadRequest', `invalid resource version: ${rv}`)
  const match = q.get('resourceVersionMatch')
  if (match && !['NotOlderThan', 'Exact'].includes(match)) throw optionsError('ListOptions', [notSupported('resourceVersionMatch', match, ['Exact', 'NotOlderThan'])])
  if (match && !rv) throw optionsError('ListOptions', [forbiddenField('resourceVersionMatch', 'resourceVersionMatch is forbidden unless resourceVersion is provided')])
}

const forbiddenField = (field: string, detail: string): FieldError => ({type: 'FieldValueForbidden', field, detail})

/** PodLogOptions (ValidatePodLogOptions): the numbers must be positive. */
export function validateLogOptions(q: URLSearchParams): void {
  for (const b of ['follow', 'previous', 'timestamps', 'insecureSkipTLSVerifyBackend']) boolParam(q, b)
  const errs: FieldError[] = []
  const tail = intParam(q, 'tailLines')
  if (tail !== undefined && tail < 0) errs.push(invalid('tailLines', tail, 'must be greater than or equal to 0'))
  const limit = intParam(q, 'limitBytes')
  if (limit !== undefined && limit < 1) errs.push(invalid('limitBytes', limit, 'must be greater than 0'))
  const since = intParam(q, 'sinceSeconds')
  if (since !== undefined && since < 1) errs.push(invalid('sinceSeconds', since, 'must be greater than 0'))
  if (since !== undefined && q.get('sinceTime')) errs.push(forbiddenField('', 'at most one of `sinceTime` or `sinceSeconds` may be specified'))
  const sinceTime = q.get('sinceTime')
  if (sinceTime && Number.isNaN(Date.parse(sinceTime))) throw new StatusError(400, 'BadRequest', `parsing time ${JSON.stringify(sinceTime)} as "2006-01-02T15:04:05Z07:00": cannot parse`)
  if (errs.length) throw invalidError('PodLogOptions', '', '', errs)
}

/** PodExecOptions: a command, and at least one of stdin/stdout/stderr. */
export function validateExecOptions(q: URLSearchParams): void {
  for (const b of ['stdin', 'stdout', 'stderr', 'tty']) boolParam(q, b)
  if (q.getAll('command').length === 0) throw new StatusError(400, 'BadRequest', 'you must specify at least 1 command')
  const on = (k: string) => ['1', 'true', 'True', 'TRUE', 't', 'T'].includes(q.get(k) ?? '')
  if (!on('stdin') && !on('stdout') && !on('stderr')) throw new StatusError(400, 'BadRequest', 'you must specify at least 1 of stdin, stdout, stderr')
}

// --- TokenRequest / SelfSubjectAccessReview ----------------------------------------------------

const TOKEN_REQUEST: KindInfo = {group: 'authentication.k8s.io', version: 'v1', resource: 'tokenrequests', kind: 'TokenRequest', namespaced: true}
const SSAR: KindInfo = {group: 'authorization.k8s.io', version: 'v1', resource: 'selfsubjectaccessreviews', kind: 'SelfSubjectAccessReview', namespaced: false}

/** TokenRequest body rules (ValidateTokenRequest and the serviceaccounts/token REST handler). */
export function validateTokenRequest(name: string, body: Record<string, any>): void {
  const withType = {apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', ...body, spec: body.spec ?? {}}
  const errs = decodeOrThrow(TOKEN_REQUEST, withType).filter((e) => e.field !== 'spec.audiences')
  const exp = body.spec?.expirationSeconds
  if (exp !== undefined && exp !== null) {
    if (exp < 600) errs.push(invalid('spec.expirationSeconds', exp, 'may not specify a duration less than 10 minutes'))
    if (exp > 2 ** 32) errs.push(invalid('spec.expirationSeconds', exp, 'may not specify a duration larger than 2^32 seconds'))
  }
  const ref = body.spec?.boundObjectRef
  if (ref) {
    if (!['Pod', 'Secret', 'Node'].includes(ref.kind)) errs.push(notSupported('spec.boundObjectRef.kind', ref.kind ?? '', ['Pod', 'Secret']))
    if (!ref.name) errs.push(required('spec.boundObjectRef.name'))
    if (ref.apiVersion !== undefined && ref.apiVersion !== 'v1') errs.push(invalid('spec.boundObjectRef.apiVersion', ref.apiVersion, 'must be v1'))
  }
  if (errs.length) throw invalidError('TokenRequest', 'authentication.k8s.io', name, errs)
}

/** SelfSubjectAccessReview (ValidateSelfSubjectAccessReview). */
export function validateSelfSubjectAccessReview(body: Record<string, any>): void {
  const withType = {apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', ...body}
  const errs = decodeOrThrow(SSAR, withType)
  const ra = body.spec?.resourceAttributes
  const nra = body.spec?.nonResourceAttributes
  if (ra && nra) errs.push(invalid('spec.nonResourceAttributes', nra, 'cannot be specified in combination with resourceAttributes'))
  if (!ra && !nra && !errs.length) errs.push(invalid('spec.resourceAttributes', 'null', 'exactly one of nonResourceAttributes or resourceAttributes must be specified'))
  if (errs.length) throw invalidError('SelfSubjectAccessReview', 'authorization.k8s.io', '', errs)
}
