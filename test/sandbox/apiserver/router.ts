// REST handling: URL parsing, authorization, CRUD, watch, logs, TokenRequest/TokenReview/SSAR.
import type {IncomingMessage, ServerResponse} from 'node:http'
import {Writable} from 'node:stream'
import {StatusError, type KObject, type ResourceKey, type StoreEvent} from '../types.js'
import type {ResourceRequest, ServerContext} from './context.js'
import {parseJson, readBody, sendError, sendJson, statusObject, toStatusError} from './http.js'
import {applyCreateDefaults, includeObjectOf, invalid, jsonPatch, mergePatch, toTable, validateName, wantsTable} from './objects.js'
import {decodeEnvelope, decodeSelfSubjectAccessReview, decodeTokenRequest} from './protobuf.js'
import {authorize, forbidden, type Attributes} from './rbac.js'
import {apiVersionOf, findResource, RESOURCES, type ResourceInfo} from './resources.js'
import {matchesOptions, notFound, watchEventFor} from './store.js'
import {ISSUER} from './tokens.js'

const NAMESPACES: ResourceKey = {group: '', version: 'v1', resource: 'namespaces'}
const PODS: ResourceKey = {group: '', version: 'v1', resource: 'pods'}
const SERVICEACCOUNTS: ResourceKey = {group: '', version: 'v1', resource: 'serviceaccounts'}

export function parseResourcePath(pathname: string): ResourceRequest | undefined {
  const seg = pathname.split('/').filter((s) => s !== '').map(decodeURIComponent)
  let group: string, version: string, rest: string[]
  if (seg[0] === 'api' && seg.length >= 3) [group, version, rest] = ['', seg[1], seg.slice(2)]
  else if (seg[0] === 'apis' && seg.length >= 4) [group, version, rest] = [seg[1], seg[2], seg.slice(3)]
  else return undefined
  if (rest[0] === 'namespaces' && rest.length >= 3 && findResource(group, version, rest[2])?.namespaced) {
    return {group, version, namespace: rest[1], resource: rest[2], name: rest[3], subresource: rest[4]}
  }
  return {group, version, resource: rest[0], name: rest[1], subresource: rest[2]}
}

export function verbFor(method: string, r: ResourceRequest, query: URLSearchParams): string {
  switch (method) {
    case 'GET':
    case 'HEAD':
      if (isTrue(query.get('watch'))) return 'watch'
      return r.name ? 'get' : 'list'
    case 'POST':
      return 'create'
    case 'PUT':
      return 'update'
    case 'PATCH':
      return 'patch'
    case 'DELETE':
      return r.name ? 'delete' : 'deletecollection'
    default:
      return method.toLowerCase()
  }
}

const isTrue = (v: string | null): boolean => v === '1' || v === 'true'

export function checkAccess(ctx: ServerContext, user: string, attrs: Attributes): void {
  if (!authorize(user, attrs).allowed) throw forbidden(user, attrs)
}

export function resolve(r: ResourceRequest): ResourceInfo {
  const info = findResource(r.group, r.version, r.resource)
  if (!info) throw new StatusError(404, 'NotFound', 'the server could not find the requested resource')
  if (r.subresource && !info.subresources?.[r.subresource]) throw new StatusError(404, 'NotFound', 'the server could not find the requested resource')
  return info
}

const withType = (info: ResourceInfo, o: KObject): KObject => ({apiVersion: apiVersionOf(info), kind: info.kind, ...o})

export async function handleResource(ctx: ServerContext, user: string, req: IncomingMessage, res: ServerResponse, r: ResourceRequest, query: URLSearchParams): Promise<void> {
  const info = resolve(r)
  const verb = verbFor(req.method ?? 'GET', r, query)
  const attrs: Attributes = {verb, group: info.group, resource: info.resource, subresource: r.subresource, namespace: info.namespaced ? r.namespace : undefined, name: r.name}
  checkAccess(ctx, user, attrs)
  const key: ResourceKey = info
  const ns = info.namespaced ? r.namespace : undefined
  const sub = r.subresource

  if (sub === 'exec' || sub === 'portforward') {
    throw new StatusError(400, 'BadRequest', 'Upgrade request required')
  }
  if (sub === 'log') return podLogs(ctx, req, res, ns!, r.name!, query)
  if (sub === 'token') return tokenRequest(ctx, req, res, ns!, r.name!)
  if (info.resource === 'selfsubjectaccessreviews') return selfSubjectAccessReview(req, res, user)
  if (info.resource === 'tokenreviews') return tokenReview(ctx, req, res)

  switch (verb) {
    case 'get': {
      const o = ctx.store.get(key, ns, r.name!)
      if (!o) throw notFound(key, r.name!)
      if (wantsTable(req.headers.accept) && !sub) return sendJson(res, 200, toTable(info.resource, [o], o.metadata.resourceVersion, true, includeObjectOf(query), (x) => withType(info, x)))
      return sendJson(res, 200, withType(info, o))
    }
    case 'list': {
      const {items, resourceVersion} = ctx.store.list(key, listOptions(ns, query))
      if (wantsTable(req.headers.accept)) return sendJson(res, 200, toTable(info.resource, items, resourceVersion, true, includeObjectOf(query), (x) => withType(info, x)))
      return sendJson(res, 200, {kind: `${info.kind}List`, apiVersion: apiVersionOf(info), metadata: {resourceVersion}, items: items.map((o) => withType(info, o))})
    }
    case 'watch':
      return watch(ctx, req, res, info, ns, r.name, query)
    case 'create':
      return sendJson(res, 201, withType(info, create(ctx, info, ns, await bodyJson(req))))
    case 'update': {
      const body = await bodyJson(req)
      const o = ctx.store.update(key, ns, r.name!, (cur) => {
        if (body.metadata?.resourceVersion && body.metadata.resourceVersion !== cur.metadata.resourceVersion) throw conflict(info, r.name!)
        if (body.metadata?.name && body.metadata.name !== r.name) throw new StatusError(400, 'BadRequest', `the name of the object (${body.metadata.name}) does not match the name on the URL (${r.name})`)
        return sub === 'status' ? {...cur, status: body.status} : {...body, status: cur.status, metadata: {...body.metadata}}
      })
      return sendJson(res, 200, withType(info, o))
    }
    case 'patch': {
      const body = await readBody(req)
      const type = String(req.headers['content-type'] ?? '').split(';')[0]
      if (type === 'application/apply-patch+yaml') throw new StatusError(415, 'UnsupportedMediaType', 'the sandbox does not implement server-side apply')
      const patch = parseJson(body)
      const o = ctx.store.update(key, ns, r.name!, (cur) => {
        const next = type === 'application/json-patch+json' ? jsonPatch(cur, patch) : mergePatch(cur, patch)
        if (sub === 'status') return {...cur, status: next.status}
        return {...next, status: cur.status}
      })
      return sendJson(res, 200, withType(info, o))
    }
    case 'delete': {
      const opts = await deleteOptions(req, query)
      const o = deleteObject(ctx, info, ns, r.name!, opts)
      return sendJson(res, 200, withType(info, o), orphanWarning(info, opts))
    }
    case 'deletecollection': {
      const opts = await deleteOptions(req, query)
      const {items} = ctx.store.list(key, listOptions(ns, query))
      const deleted = items.map((o) => withType(info, deleteObject(ctx, info, o.metadata.namespace, o.metadata.name, opts)))
      return sendJson(res, 200, {kind: `${info.kind}List`, apiVersion: apiVersionOf(info), metadata: {resourceVersion: ctx.store.currentResourceVersion()}, items: deleted}, orphanWarning(info, opts))
    }
  }
  throw new StatusError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`)
}

function listOptions(ns: string | undefined, q: URLSearchParams) {
  return {namespace: ns, labelSelector: q.get('labelSelector') ?? undefined, fieldSelector: q.get('fieldSelector') ?? undefined}
}

const conflict = (info: ResourceInfo, name: string) =>
  new StatusError(409, 'Conflict', `Operation cannot be fulfilled on ${info.group ? `${info.resource}.${info.group}` : info.resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`, {name, group: info.group || undefined, kind: info.resource})

async function bodyJson(req: IncomingMessage): Promise<any> {
  const type = String(req.headers['content-type'] ?? 'application/json').split(';')[0].trim()
  if (type === 'application/vnd.kubernetes.protobuf') throw new StatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`)
  const body = parseJson(await readBody(req))
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new StatusError(400, 'BadRequest', 'the object provided is unrecognized')
  return body
}

export function create(ctx: ServerContext, info: ResourceInfo, ns: string | undefined, body: KObject): KObject {
  body.metadata ??= {}
  if (info.namespaced) {
    if (body.metadata.namespace && body.metadata.namespace !== ns) throw new StatusError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request')
    body.metadata.namespace = ns
    if (!ctx.store.get(NAMESPACES, undefined, ns!)) throw notFound(NAMESPACES, ns!)
  } else delete body.metadata.namespace
  if (body.metadata.name) validateName(info, body.metadata.name)
  else if (!body.metadata.generateName) throw invalid(info, '', 'metadata.name', '', 'name or generateName is required')
  if (body.kind && body.kind !== info.kind) throw new StatusError(400, 'BadRequest', `the API version in the data (${body.apiVersion}) does not match the expected API version (${apiVersionOf(info)})`)
  for (const f of ['uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp'] as const) delete body.metadata[f]
  body.apiVersion = apiVersionOf(info)
  body.kind = info.kind
  applyCreateDefaults(info, body)
  return ctx.store.create(info, body)
}

interface DeleteOptions {
  gracePeriodSeconds?: number
  propagationPolicy?: string
  preconditions?: {uid?: string; resourceVersion?: string}
}

async function deleteOptions(req: IncomingMessage, q: URLSearchParams): Promise<DeleteOptions> {
  const raw = await readBody(req)
  const body: DeleteOptions = raw.length > 0 ? parseJson(raw) : {}
  const g = q.get('gracePeriodSeconds')
  if (g !== null) body.gracePeriodSeconds = Number(g)
  const p = q.get('propagationPolicy')
  if (p) body.propagationPolicy = p
  return body
}

/** batch/v1 Jobs default to orphaning their pods; the real API server says so in a Warning header. */
function orphanWarning(info: ResourceInfo, opts: DeleteOptions): Record<string, string> {
  if (info.resource !== 'jobs' || opts.propagationPolicy) return {}
  return {Warning: '299 - "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning"'}
}

/**
 * Foreground deletion: the owner stays, with deletionTimestamp and the foregroundDeletion finalizer,
 * until the garbage collector has removed every dependent (ownerReferences); then it goes.
 */
function deleteForeground(ctx: ServerContext, info: ResourceInfo, ns: string | undefined, cur: KObject): KObject {
  const uid = cur.metadata.uid
  if (cur.metadata.deletionTimestamp) return cur
  const marked = ctx.store.update(info, ns, cur.metadata.name, (o) => {
    o.metadata.deletionTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
    o.metadata.deletionGracePeriodSeconds = 0
    o.metadata.finalizers = [...(o.metadata.finalizers ?? []), 'foregroundDeletion']
  })
  const dependents = () => {
    const out: Array<[ResourceInfo, KObject]> = []
    for (const r of RESOURCES) {
      if (!r.namespaced || !r.verbs.includes('list')) continue
      for (const o of ctx.store.list(r, {namespace: ns}).items) if ((o.metadata.ownerReferences ?? []).some((ref: any) => ref.uid === uid)) out.push([r, o])
    }
    return out
  }
  for (const [r, o] of dependents()) {
    try {
      deleteObject(ctx, r, o.metadata.namespace, o.metadata.name, {})
    } catch {
      // already gone
    }
  }
  const t = setInterval(() => {
    if (dependents().length > 0) return
    clearInterval(t)
    ctx.closers.delete(cancel)
    if (ctx.store.get(info, ns, cur.metadata.name)?.metadata.uid === uid) {
      orphaned.add(uid) // nothing left to collect
      ctx.store.delete(info, ns, cur.metadata.name)
    }
  }, 100)
  t.unref()
  const cancel = () => clearInterval(t)
  ctx.closers.add(cancel)
  return marked
}

/** Owner uids whose dependents must be left alone (propagationPolicy Orphan, or the batch/v1 Job default). */
const orphaned = new Set<string>()

/**
 * Delete an object. Pods on a node are deleted gracefully, as the real API server does: the pod
 * gets metadata.deletionTimestamp + deletionGracePeriodSeconds (a MODIFIED event the kubelet acts
 * on: stop the containers, then `store.delete` the pod); if it is still there when the grace period
 * ends, the API server removes it. Grace 0, unscheduled pods (no spec.nodeName) and finished pods
 * are removed at once — after the MODIFIED event, so the kubelet still sees the kill request.
 */
export function deleteObject(ctx: ServerContext, info: ResourceInfo, ns: string | undefined, name: string, opts: DeleteOptions): KObject {
  const cur = ctx.store.get(info, ns, name)
  if (!cur) throw notFound(info, name)
  if (opts.preconditions?.uid && opts.preconditions.uid !== cur.metadata.uid) {
    throw new StatusError(409, 'Conflict', `Operation cannot be fulfilled on ${info.resource} "${name}": Precondition failed: UID in precondition: ${opts.preconditions.uid}, UID in object meta: ${cur.metadata.uid}`)
  }
  if (opts.propagationPolicy === 'Foreground' && info.resource !== 'pods') return deleteForeground(ctx, info, ns, cur)
  if (opts.propagationPolicy === 'Orphan' || (!opts.propagationPolicy && info.resource === 'jobs')) orphaned.add(cur.metadata.uid)
  if (info.resource !== 'pods') return ctx.store.delete(info, ns, name) ?? cur
  const phase = cur.status?.phase
  let grace = opts.gracePeriodSeconds ?? cur.spec?.terminationGracePeriodSeconds ?? 30
  if (!cur.spec?.nodeName || phase === 'Succeeded' || phase === 'Failed') grace = 0
  if (cur.metadata.deletionTimestamp && grace > 0) return cur
  const marked = ctx.store.update(PODS, ns, name, (p) => {
    p.metadata.deletionTimestamp = new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d+Z$/, 'Z')
    p.metadata.deletionGracePeriodSeconds = grace
  })
  if (grace === 0) return ctx.store.delete(PODS, ns, name) ?? marked
  const uid = cur.metadata.uid
  const t = setTimeout(() => {
    ctx.closers.delete(cancel)
    if (ctx.store.get(PODS, ns, name)?.metadata.uid === uid) ctx.store.delete(PODS, ns, name)
  }, grace * 1000)
  t.unref()
  const cancel = () => clearTimeout(t)
  ctx.closers.add(cancel)
  return marked
}

/** Background garbage collection: dependents (ownerReferences) of a deleted object go too. */
export function startGarbageCollector(ctx: ServerContext): () => void {
  return ctx.store.subscribe((ev: StoreEvent) => {
    if (ev.type !== 'DELETED') return
    const uid = ev.object.metadata.uid
    if (orphaned.delete(uid)) return
    queueMicrotask(() => {
      for (const info of RESOURCES) {
        if (!info.namespaced || !info.verbs.includes('list')) continue
        for (const o of ctx.store.list(info, {namespace: ev.object.metadata.namespace}).items) {
          if ((o.metadata.ownerReferences ?? []).some((r: any) => r.uid === uid)) {
            try {
              deleteObject(ctx, info, o.metadata.namespace, o.metadata.name, {})
            } catch {
              // already gone
            }
          }
        }
      }
    })
  })
}

// --- watch -----------------------------------------------------------------------------------

function watch(ctx: ServerContext, req: IncomingMessage, res: ServerResponse, info: ResourceInfo, ns: string | undefined, name: string | undefined, q: URLSearchParams): void {
  const opts = listOptions(ns, q)
  if (name) opts.fieldSelector = [opts.fieldSelector, `metadata.name=${name}`].filter(Boolean).join(',')
  const rv = q.get('resourceVersion')
  const table = wantsTable(req.headers.accept)
  const bookmarks = isTrue(q.get('allowWatchBookmarks'))
  // Validate the selectors before committing to a 200.
  matchesOptions({metadata: {}}, opts)
  let backlog: StoreEvent[]
  let expired: StatusError | undefined
  if (!rv || rv === '0') {
    backlog = ctx.store.list(info, opts).items.map((object) => ({type: 'ADDED' as const, key: info, object}))
  } else {
    try {
      backlog = ctx.store.eventsSince(info, rv, opts)
    } catch (e) {
      if (!(e instanceof StatusError) || e.code !== 410) throw e
      backlog = []
      expired = e
    }
  }
  res.writeHead(200, {'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked'})
  res.flushHeaders()
  const include = includeObjectOf(q)
  const render = (o: KObject) => (table ? toTable(info.resource, [o], o.metadata.resourceVersion, false, include, (x) => withType(info, x)) : withType(info, o))
  const send = (type: string, object: unknown) => res.write(JSON.stringify({type, object}) + '\n')
  if (expired) {
    send('ERROR', statusObject(410, 'Expired', expired.message))
    res.end()
    return
  }
  for (const ev of backlog) send(ev.type, render(ev.object))
  const unsubscribe = ctx.store.subscribe((ev) => {
    if (ev.key.group !== info.group || ev.key.resource !== info.resource) return
    const w = watchEventFor(ev, opts)
    if (w) send(w.type, render(w.object))
  })
  const bookmark = () => send('BOOKMARK', {kind: info.kind, apiVersion: apiVersionOf(info), metadata: {resourceVersion: ctx.store.currentResourceVersion()}})
  const timers: NodeJS.Timeout[] = []
  if (bookmarks) timers.push(setInterval(bookmark, ctx.bookmarkIntervalMs))
  const timeout = Number(q.get('timeoutSeconds') ?? 0)
  const finish = () => {
    unsubscribe()
    for (const t of timers) clearInterval(t)
    ctx.closers.delete(finish)
    if (!res.writableEnded) res.end()
  }
  if (timeout > 0) {
    timers.push(setTimeout(() => {
      if (bookmarks) bookmark()
      finish()
    }, timeout * 1000))
  }
  ctx.closers.add(finish)
  req.on('close', finish)
  res.on('close', finish)
}

// --- pods/log --------------------------------------------------------------------------------

async function podLogs(ctx: ServerContext, req: IncomingMessage, res: ServerResponse, ns: string, name: string, q: URLSearchParams): Promise<void> {
  const pod = ctx.store.get(PODS, ns, name)
  if (!pod) throw notFound(PODS, name)
  const names: string[] = (pod.spec?.containers ?? []).map((c: any) => c.name)
  let container = q.get('container') ?? undefined
  if (!container) {
    if (names.length !== 1) throw new StatusError(400, 'BadRequest', `a container name must be specified for pod ${name}, choose one of: [${names.join(' ')}]`)
    container = names[0]
  } else if (!names.includes(container)) {
    throw new StatusError(400, 'BadRequest', `container ${container} is not valid for pod ${name}`)
  }
  const cs = (pod.status?.containerStatuses ?? []).find((c: any) => c.name === container)
  if (!cs || (cs.state?.waiting && !cs.lastState?.terminated)) {
    throw new StatusError(400, 'BadRequest', `container "${container}" in pod "${name}" is waiting to start: ${cs?.state?.waiting?.reason ?? 'ContainerCreating'}`)
  }
  const num = (k: string) => (q.get(k) !== null ? Number(q.get(k)) : undefined)
  const ac = new AbortController()
  const abort = () => ac.abort()
  req.on('close', abort)
  res.on('close', abort)
  ctx.closers.add(abort)
  let headed = false
  const head = () => {
    if (headed) return
    headed = true
    res.writeHead(200, {'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked'})
    res.flushHeaders()
  }
  const out = new Writable({
    write(chunk, _enc, cb) {
      head()
      if (res.write(chunk)) cb()
      else res.once('drain', () => cb())
    },
  })
  // Commit the 200 soon even if the container is quiet (clients resolve on headers), but give
  // the runtime a moment to fail with a Status first.
  const early = setTimeout(head, 50)
  try {
    await ctx.runtime.logs(ns, name, {
      container, follow: isTrue(q.get('follow')), tailLines: num('tailLines'), sinceSeconds: num('sinceSeconds'),
      sinceTime: q.get('sinceTime') ?? undefined, timestamps: isTrue(q.get('timestamps')), previous: isTrue(q.get('previous')), limitBytes: num('limitBytes'),
    }, out, ac.signal)
    clearTimeout(early)
    head()
    res.end()
  } catch (e) {
    clearTimeout(early)
    if (!headed) throw e
    res.destroy()
  } finally {
    ctx.closers.delete(abort)
  }
}

// --- TokenRequest / TokenReview / SelfSubjectAccessReview ------------------------------------

async function typedBody(req: IncomingMessage, decode: (raw: Buffer) => Record<string, any>): Promise<Record<string, any>> {
  const type = String(req.headers['content-type'] ?? 'application/json').split(';')[0].trim()
  const body = await readBody(req)
  if (type === 'application/vnd.kubernetes.protobuf') return decode(decodeEnvelope(body).raw)
  return parseJson(body)
}

const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z')

async function tokenRequest(ctx: ServerContext, req: IncomingMessage, res: ServerResponse, ns: string, name: string): Promise<void> {
  const body = await typedBody(req, decodeTokenRequest)
  const sa = ctx.store.get(SERVICEACCOUNTS, ns, name)
  if (!sa) throw notFound(SERVICEACCOUNTS, name)
  const spec = body.spec ?? {}
  const exp = spec.expirationSeconds ?? 3600
  const tr = {group: 'authentication.k8s.io', version: 'v1', resource: 'tokenrequests', kind: 'TokenRequest', namespaced: true, verbs: [], singularName: ''}
  if (exp < 600) throw invalid(tr, name, 'spec.expirationSeconds', exp, 'may not specify a duration less than 10 minutes')
  if (exp > 2 ** 32) throw invalid(tr, name, 'spec.expirationSeconds', exp, 'may not specify a duration larger than 2^32 seconds')
  const audiences: string[] = spec.audiences?.length ? spec.audiences : [ISSUER]
  const claims: any = {namespace: ns, serviceaccount: {name, uid: sa.metadata.uid}}
  const ref = spec.boundObjectRef
  if (ref) {
    if (ref.kind !== 'Pod' && ref.kind !== 'Secret') throw invalid(tr, name, 'spec.boundObjectRef.kind', ref.kind, 'supported values: "Pod", "Secret"')
    const key: ResourceKey = {group: '', version: 'v1', resource: ref.kind === 'Pod' ? 'pods' : 'secrets'}
    const obj = ctx.store.get(key, ns, ref.name)
    if (!obj) throw notFound(key, ref.name)
    if (ref.uid && ref.uid !== obj.metadata.uid) throw new StatusError(409, 'Conflict', `Operation cannot be fulfilled on ${key.resource} "${ref.name}": the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`)
    claims[ref.kind === 'Pod' ? 'pod' : 'secret'] = {name: ref.name, uid: obj.metadata.uid}
  }
  const now = Math.floor(Date.now() / 1000)
  const token = ctx.issuer.issue({sub: `system:serviceaccount:${ns}:${name}`, aud: audiences, exp: now + exp, iat: now, 'kubernetes.io': claims})
  sendJson(res, 201, {
    kind: 'TokenRequest',
    apiVersion: 'authentication.k8s.io/v1',
    metadata: {name, namespace: ns, creationTimestamp: null},
    spec: {audiences, expirationSeconds: exp, boundObjectRef: ref ?? null},
    status: {token, expirationTimestamp: rfc3339((now + exp) * 1000)},
  })
}

/** Who a ServiceAccount JWT stands for, checking that its SA (and bound pod) still exist. */
export function reviewServiceAccountToken(ctx: ServerContext, token: string, audiences?: string[]): {user: Record<string, unknown>; audiences: string[]} | {error: string} {
  const v = ctx.issuer.verify(token, audiences)
  if ('error' in v) return v
  const k = v.claims['kubernetes.io']
  const sa = ctx.store.get(SERVICEACCOUNTS, k.namespace, k.serviceaccount.name)
  if (!sa || sa.metadata.uid !== k.serviceaccount.uid) return {error: `[invalid bearer token, service account ${k.namespace}/${k.serviceaccount.name} has been deleted]`}
  const extra: Record<string, string[]> = {'authentication.kubernetes.io/credential-id': [`JTI=${v.claims.jti}`]}
  if (k.pod) {
    const pod = ctx.store.get(PODS, k.namespace, k.pod.name)
    if (!pod || pod.metadata.uid !== k.pod.uid || pod.metadata.deletionTimestamp) return {error: `[invalid bearer token, pod "${k.pod.name}" bound to the token is not found or was deleted]`}
    extra['authentication.kubernetes.io/pod-name'] = [k.pod.name]
    extra['authentication.kubernetes.io/pod-uid'] = [k.pod.uid]
  }
  return {
    user: {username: v.claims.sub, uid: k.serviceaccount.uid, groups: ['system:serviceaccounts', `system:serviceaccounts:${k.namespace}`, 'system:authenticated'], extra},
    audiences: audiences?.length ? audiences.filter((a) => v.claims.aud.includes(a)) : v.claims.aud,
  }
}

async function tokenReview(ctx: ServerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await typedBody(req, () => {
    throw new StatusError(415, 'UnsupportedMediaType', 'protobuf TokenReview is not supported by the sandbox')
  })
  const token: string = body.spec?.token ?? ''
  const audiences: string[] | undefined = body.spec?.audiences
  let status: Record<string, unknown>
  const staticUser = ctx.users.get(token)
  if (staticUser) status = {authenticated: true, user: {username: staticUser, groups: ['system:authenticated']}, audiences: audiences ?? [ISSUER]}
  else {
    const r = reviewServiceAccountToken(ctx, token, audiences)
    status = 'error' in r ? {authenticated: false, user: {}, error: r.error} : {authenticated: true, user: r.user, audiences: r.audiences}
  }
  sendJson(res, 201, {kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', metadata: {creationTimestamp: null}, spec: body.spec ?? {}, status})
}

async function selfSubjectAccessReview(req: IncomingMessage, res: ServerResponse, user: string): Promise<void> {
  const body = await typedBody(req, decodeSelfSubjectAccessReview)
  const ra = body.spec?.resourceAttributes
  const nra = body.spec?.nonResourceAttributes
  let decision
  if (ra) {
    decision = authorize(user, {verb: ra.verb ?? '', group: ra.group ?? '', resource: ra.resource ?? '', subresource: ra.subresource || undefined, namespace: ra.namespace || undefined, name: ra.name || undefined})
  } else if (nra) {
    decision = user === 'admin' || nra.verb === 'get' ? {allowed: true, reason: 'RBAC: allowed by ClusterRoleBinding "system:discovery" of ClusterRole "system:discovery" to Group "system:authenticated"'} : {allowed: false, reason: ''}
  } else throw new StatusError(422, 'Invalid', 'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified')
  sendJson(res, 201, {
    kind: 'SelfSubjectAccessReview',
    apiVersion: 'authorization.k8s.io/v1',
    metadata: {creationTimestamp: null},
    spec: body.spec,
    status: decision.allowed ? {allowed: true, reason: decision.reason} : {allowed: false},
  })
}

export {toStatusError, sendError}
