// Replays one recorded request (recorder.ts) through the API server's validation, without a store:
// what would a real kube-apiserver refuse in it? Used by the API contract test on the committed
// corpus of the CLI's requests and on a live recording. Throws the StatusError the server would send.
import {StatusError, type KObject} from '../../types.js'
import type {RecordedRequest} from '../recorder.js'
import {findResource} from '../resources.js'
import {parseResourcePath} from '../router.js'
import {
  admitCreate, decodeOrThrow, deleteOptionsOf, validateCreateOptions, validateExecOptions, validateListOptions, validateLogOptions, validateObject,
  validatePatchRequest, validateSelfSubjectAccessReview, validateTokenRequest,
} from './index.js'

const NOT_FOUND = () => new StatusError(404, 'NotFound', 'the server could not find the requested resource')

export interface ReplayOptions {
  /** Pod Security level the target namespace enforces (the CLI's pods must pass `restricted`). */
  podSecurity?: 'baseline' | 'restricted'
}

/** Path template and parameter names of a request: what "the same request shape" means. */
export function requestShape(rec: RecordedRequest): string {
  const r = parseResourcePath(rec.path)
  const p = r
    ? `/${r.group ? `apis/${r.group}` : 'api'}/${r.version}${r.namespace !== undefined ? '/namespaces/{ns}' : ''}/${r.resource}${r.name !== undefined ? '/{name}' : ''}${r.subresource ? `/${r.subresource}` : ''}`
    : rec.path
  const body = rec.body !== undefined ? ` ${keyShape(rec.body)}` : ''
  return `${rec.method} ${p}?${Object.keys(rec.query).sort().join('&')} ${rec.contentType || '-'}${body}`
}

/** The body's field structure: object keys (sorted, recursively), arrays by their first element's shape. */
export function keyShape(v: unknown): string {
  if (Array.isArray(v)) return `[${v.length ? keyShape(v[0]) : ''}]`
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>
    // map-valued fields: their keys are data, not structure
    return `{${Object.keys(o).sort().map((k) => (['labels', 'annotations', 'data', 'requests', 'limits', 'matchLabels'].includes(k) ? `${k}:map` : `${k}:${keyShape(o[k])}`)).join(',')}}`
  }
  return typeof v === 'string' ? 's' : typeof v === 'number' ? 'n' : typeof v === 'boolean' ? 'b' : 'null'
}

export function replayRequest(rec: RecordedRequest, opts: ReplayOptions = {}): void {
  const r = parseResourcePath(rec.path)
  if (!r) return // discovery, /version, /openapi: nothing to validate
  const info = findResource(r.group, r.version, r.resource)
  if (!info) throw NOT_FOUND()
  const q = new URLSearchParams()
  for (const [k, vs] of Object.entries(rec.query)) for (const v of vs) q.append(k, v)
  if (rec.bodyBase64 !== undefined) throw new StatusError(415, 'UnsupportedMediaType', `the sandbox replays JSON bodies only (got ${rec.contentType})`)
  const body = structuredClone(rec.body) as any
  const sub = r.subresource
  switch (rec.method) {
    case 'GET':
    case 'HEAD':
      if (sub === 'log') return validateLogOptions(q)
      if (sub === 'exec') return validateExecOptions(q)
      if (sub === 'portforward') {
        const ports = q.getAll('ports').flatMap((p) => p.split(',')).map(Number)
        if (ports.length === 0 || ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) throw new StatusError(400, 'BadRequest', 'query parameter "port" is required')
        return
      }
      if (!r.name || q.get('watch')) validateListOptions(q)
      return
    case 'POST': {
      if (sub === 'exec') return validateExecOptions(q)
      if (sub === 'token') return validateTokenRequest(r.name ?? '', body ?? {})
      if (info.resource === 'selfsubjectaccessreviews') return validateSelfSubjectAccessReview(body ?? {})
      if (info.resource === 'tokenreviews') return void decodeOrThrow(info, {...body, apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview'})
      validateCreateOptions(q, 'CreateOptions')
      const ns = r.namespace
      const namespace: KObject | undefined = ns ? {metadata: {name: ns, labels: opts.podSecurity ? {'pod-security.kubernetes.io/enforce': opts.podSecurity} : {}}} : undefined
      admitCreate(info, ns, body ?? {}, {namespace, serviceAccountExists: () => true})
      return
    }
    case 'PUT': {
      validateCreateOptions(q, 'UpdateOptions')
      const o = {...body, apiVersion: info.group ? `${info.group}/${info.version}` : info.version, kind: info.kind}
      decodeOrThrow(info, o)
      if (sub !== 'status') validateObject(info, o)
      return
    }
    case 'PATCH':
      return validatePatchRequest(q, rec.contentType, body)
    case 'DELETE':
      deleteOptionsOf(body, q)
      return
  }
  throw new StatusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource')
}
