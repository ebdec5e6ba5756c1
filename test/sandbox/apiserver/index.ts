// The sandbox's Kubernetes API server: HTTPS on 127.0.0.1, bearer-token users, discovery, REST,
// watch, pods/log, and pods/exec + pods/portforward upgrades (WebSocket, and SPDY for kubectl's
// port-forward). See router.ts for REST semantics (graceful pod deletion, GC) and store.ts for the Store.
import {randomBytes} from 'node:crypto'
import {createServer, type Server} from 'node:https'
import type {IncomingMessage, ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import type {Duplex} from 'node:stream'
import {WebSocketServer, type WebSocket} from 'ws'
import type {Faults} from '../faults.js'
import {StatusError, type PodRuntime, type Store} from '../types.js'
import {generateServingCerts} from './certs.js'
import {readBodyForRecord, recordRequest} from './recorder.js'
import {validateExecOptions} from './validation/index.js'
import type {ResourceRequest, ServerContext} from './context.js'
import {chooseExecProtocol, execParams, serveExec} from './exec.js'
import {openApiV3Document, openApiV3Root} from './openapi.js'
import {SPDY_EXEC_PROTOCOLS, serveSpdyExec} from './spdy-exec.js'
import {readBody, refuseUpgrade, sendError, sendJson, parseJson, statusObject} from './http.js'
import {PF_CHANNEL_PROTOCOLS, PF_SPDY_TUNNEL, serveChannelPortForward, serveSpdyPortForward, socketTransport, wsTransport} from './portforward.js'
import {authorize, forbidden, STATIC_USERS} from './rbac.js'
import {apiGroupList, apiResourceList} from './resources.js'
import {checkAccess, handleResource, parseResourcePath, resolve, reviewServiceAccountToken, startGarbageCollector} from './router.js'
import {notFound} from './store.js'
import {TokenIssuer} from './tokens.js'

export {MemoryStore} from './store.js'

export interface ApiServerOptions {
  store: Store
  runtime: PodRuntime
  faults: Faults
  kubernetesVersion?: {major: string | number; minor: string | number}
  /** How often watches with allowWatchBookmarks get a BOOKMARK (real servers: about a minute). */
  bookmarkIntervalMs?: number
  /** Namespaces created at start (default, kube-system and these). */
  namespaces?: string[]
  /** Labels for those namespaces, e.g. `pod-security.kubernetes.io/enforce: restricted`. */
  namespaceLabels?: Record<string, string>
  /** Append every request to this file (JSON lines, see recorder.ts); default $TRACEBLOC_SANDBOX_RECORD. */
  recordFile?: string
}

export interface ApiServer {
  url: string
  port: number
  caPem: string
  /** base64 of caPem, for kubeconfig certificate-authority-data */
  caData: string
  /** user → bearer token */
  tokens: Record<string, string>
  close(): Promise<void>
}

const PODS = {group: '', version: 'v1', resource: 'pods'}
const NAMESPACES = {group: '', version: 'v1', resource: 'namespaces'}

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const certs = generateServingCerts()
  const tokens: Record<string, string> = {}
  for (const u of STATIC_USERS) tokens[u] = `sandbox-${u}-${randomBytes(18).toString('base64url')}`
  const ctx: ServerContext = {
    store: opts.store,
    runtime: opts.runtime,
    faults: opts.faults,
    issuer: new TokenIssuer(),
    users: new Map(Object.entries(tokens).map(([u, t]) => [t, u])),
    version: {major: String(opts.kubernetesVersion?.major ?? 1), minor: String(opts.kubernetesVersion?.minor ?? 32)},
    bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 15_000,
    closers: new Set(),
  }
  for (const ns of ['default', 'kube-system', 'kube-public', ...(opts.namespaces ?? [])]) {
    if (!ctx.store.get(NAMESPACES, undefined, ns)) {
      const extra = opts.namespaces?.includes(ns) ? opts.namespaceLabels : undefined
      ctx.store.create(NAMESPACES, {apiVersion: 'v1', kind: 'Namespace', metadata: {name: ns, labels: {...extra, 'kubernetes.io/metadata.name': ns}}, spec: {finalizers: ['kubernetes']}, status: {phase: 'Active'}})
    }
  }
  const stopGc = startGarbageCollector(ctx)

  const server: Server = createServer({cert: certs.certPem, key: certs.keyPem})
  const wss = new WebSocketServer({noServer: true, perMessageDeflate: false, maxPayload: 64 << 20})

  const recordFile = opts.recordFile ?? (process.env.TRACEBLOC_SANDBOX_RECORD || undefined)
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (recordFile) recordRequest(recordFile, req, res)
    handleRequest(ctx, req, res, recordFile !== undefined).catch(async (e) => {
      if (recordFile) await readBodyForRecord(req, readBody)
      sendError(res, e)
    })
  })
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy())
    if (recordFile) recordRequest(recordFile, req, undefined)
    try {
      handleUpgrade(ctx, wss, req, socket, head)
    } catch (e) {
      refuseUpgrade(socket, e)
    }
  })
  const sockets = new Set<Duplex>()
  server.on('secureConnection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    caPem: certs.caPem,
    caData: Buffer.from(certs.caPem).toString('base64'),
    tokens,
    async close() {
      stopGc()
      for (const c of [...ctx.closers]) c()
      for (const ws of wss.clients) ws.terminate()
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** Bearer token → user name (static users, or a ServiceAccount JWT this server issued). */
function authenticate(ctx: ServerContext, req: IncomingMessage): string {
  const m = /^Bearer\s+(.+)$/i.exec(String(req.headers.authorization ?? ''))
  if (m) {
    const token = m[1].trim()
    const user = ctx.users.get(token)
    if (user && ctx.faults.get().expiredCredentials?.includes(user)) throw new StatusError(401, 'Unauthorized', 'Unauthorized')
    if (user) return user
    const sa = reviewServiceAccountToken(ctx, token)
    if (!('error' in sa)) return String(sa.user.username)
  }
  throw new StatusError(401, 'Unauthorized', 'Unauthorized')
}

/** apiErrorBurst: answer this request with the configured status (429/5xx) and Retry-After. */
function injectedError(ctx: ServerContext, path: string): {err: StatusError; headers: Record<string, string>} | undefined {
  const f = ctx.faults.get().apiErrorBurst
  if (!f || f.count <= 0 || (f.pathIncludes && !path.includes(f.pathIncludes))) return undefined
  const b = ctx.faults.take('apiErrorBurst')!
  const retry = String(b.retryAfterSeconds ?? 1)
  const err =
    b.status === 429
      ? new StatusError(429, 'TooManyRequests', 'The server has received too many requests and has asked us to try again later', {retryAfterSeconds: Number(retry)})
      : b.status === 503
        ? new StatusError(503, 'ServiceUnavailable', 'The server is currently unable to handle the request', {retryAfterSeconds: Number(retry)})
        : new StatusError(b.status, 'InternalError', 'Internal error occurred: sandbox fault injection', {retryAfterSeconds: Number(retry)})
  return {err, headers: {'Retry-After': retry}}
}

async function handleRequest(ctx: ServerContext, req: IncomingMessage, res: ServerResponse, recording = false): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://sandbox')
  const path = url.pathname.replace(/\/+$/, '') || '/'
  if (path === '/healthz' || path === '/readyz' || path === '/livez') {
    res.writeHead(200, {'Content-Type': 'text/plain'})
    res.end('ok')
    return
  }
  const user = authenticate(ctx, req)
  if (path === '/_sandbox/faults') return faultControl(ctx, user, req, res)
  const inj = injectedError(ctx, req.url ?? '')
  if (inj) {
    if (recording) await readBodyForRecord(req, readBody)
    return sendError(res, inj.err, inj.headers)
  }

  if (path === '/version') {
    return sendJson(res, 200, {major: ctx.version.major, minor: ctx.version.minor, gitVersion: `v${ctx.version.major}.${ctx.version.minor}.0-sandbox`, gitCommit: '0000000000000000000000000000000000000000', gitTreeState: 'clean', buildDate: '2026-01-01T00:00:00Z', goVersion: 'go1.23.0', compiler: 'gc', platform: 'linux/amd64'})
  }
  if (path === '/openapi/v3') return sendJson(res, 200, openApiV3Root())
  const oa = /^\/openapi\/v3\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(path)
  if (oa) {
    const doc = oa[1] ? openApiV3Document('', oa[1]) : openApiV3Document(oa[2], oa[3])
    if (!doc) throw new StatusError(404, 'NotFound', 'the server could not find the requested resource')
    return sendJson(res, 200, doc)
  }
  // Legacy discovery (APIVersions / APIGroupList): kubectl then fetches each group version.
  if (path === '/api') return sendJson(res, 200, {kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{clientCIDR: '0.0.0.0/0', serverAddress: `127.0.0.1:${req.socket.localPort}`}]})
  if (path === '/apis') return sendJson(res, 200, apiGroupList())
  const gv = /^\/api\/(v1)$/.exec(path) ?? /^\/apis\/([^/]+\/[^/]+)$/.exec(path)
  if (gv) {
    const [g, v] = gv[1].includes('/') ? gv[1].split('/') : ['', gv[1]]
    const list = apiResourceList(g, v)
    if (!list) throw new StatusError(404, 'NotFound', 'the server could not find the requested resource')
    return sendJson(res, 200, list)
  }
  const group = /^\/apis\/([^/]+)$/.exec(path)
  if (group) {
    const g = (apiGroupList().groups as any[]).find((x) => x.name === group[1])
    if (!g) throw new StatusError(404, 'NotFound', 'the server could not find the requested resource')
    return sendJson(res, 200, {kind: 'APIGroup', apiVersion: 'v1', ...g})
  }
  const r = parseResourcePath(path)
  if (!r || !r.resource) throw new StatusError(404, 'NotFound', 'the server could not find the requested resource')
  await handleResource(ctx, user, req, res, r, url.searchParams)
}

/** POST /_sandbox/faults {patch} sets knobs; DELETE clears; GET shows. Admin only. */
async function faultControl(ctx: ServerContext, user: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (user !== 'admin') throw new StatusError(403, 'Forbidden', `User "${user}" cannot change sandbox faults`)
  if (req.method === 'POST' || req.method === 'PATCH') ctx.faults.set(parseJson(await readBody(req)))
  else if (req.method === 'DELETE') ctx.faults.clear()
  sendJson(res, 200, ctx.faults.get())
}

function handleUpgrade(ctx: ServerContext, wss: WebSocketServer, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const url = new URL(req.url ?? '/', 'https://sandbox')
  let user: string
  try {
    user = authenticate(ctx, req)
  } catch (e) {
    return refuseUpgrade(socket, e)
  }
  const inj = injectedError(ctx, req.url ?? '')
  if (inj) return refuseUpgrade(socket, inj.err, inj.headers)
  const r: ResourceRequest | undefined = parseResourcePath(url.pathname)
  if (!r || r.resource !== 'pods' || !r.name || (r.subresource !== 'exec' && r.subresource !== 'portforward')) {
    throw new StatusError(400, 'BadRequest', 'upgrade is only supported for pods/exec and pods/portforward')
  }
  resolve(r)
  const ns = r.namespace!
  // WebSocket upgrades are GETs (authorized as get), SPDY upgrades POSTs (create).
  const verb = req.method === 'GET' ? 'get' : 'create'
  const attrs = {verb, group: '', resource: 'pods', subresource: r.subresource, namespace: ns, name: r.name}
  if (!authorize(user, attrs).allowed) throw forbidden(user, attrs)
  const pod = ctx.store.get(PODS, ns, r.name)
  if (!pod) throw notFound(PODS, r.name)
  const phase = pod.status?.phase
  if (phase === 'Succeeded' || phase === 'Failed') throw new StatusError(400, 'BadRequest', `cannot exec into a container in a completed pod; current phase is ${phase}`)

  const isWs = String(req.headers.upgrade ?? '').toLowerCase() === 'websocket'
  const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim()).filter(Boolean)

  if (r.subresource === 'exec') {
    validateExecOptions(url.searchParams)
    const params = execParams(ns, r.name, url.searchParams)
    if (params.container && !(pod.spec?.containers ?? []).some((c: any) => c.name === params.container)) {
      throw new StatusError(400, 'BadRequest', `container ${params.container} is not valid for pod ${r.name}`)
    }
    if (!isWs) {
      // SPDY/3.1: kubectl's fallback when the WebSocket upgrade was refused (execV4Only)
      if (!/^SPDY\/3\.1$/i.test(String(req.headers.upgrade ?? ''))) throw new StatusError(400, 'BadRequest', 'unable to upgrade connection: missing upgrade headers in request')
      const wanted = String(req.headers['x-stream-protocol-version'] ?? '').split(',').map((s) => s.trim())
      const proto = SPDY_EXEC_PROTOCOLS.find((x) => wanted.includes(x))
      if (!proto) throw new StatusError(403, 'Forbidden', `unable to upgrade: unable to negotiate protocol: client supports [${wanted.join(' ')}], server supports [${SPDY_EXEC_PROTOCOLS.join(' ')}]`)
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${proto}\r\n\r\n`)
      if (head.length) socket.unshift(head)
      serveSpdyExec(ctx, socket, params, proto)
      return
    }
    const protocol = chooseExecProtocol(offered, ctx.faults.get().execV4Only === true)
    if (!protocol) throw new StatusError(400, 'BadRequest', `unable to upgrade connection: no supported subprotocol among [${offered.join(', ')}]`)
    accept(wss, req, socket, head, protocol, (ws) => void serveExec(ctx, ws, params))
    return
  }

  // portforward
  if (!isWs) {
    if (!/^SPDY\/3\.1$/i.test(String(req.headers.upgrade ?? ''))) throw new StatusError(400, 'BadRequest', 'unable to upgrade connection: missing upgrade headers in request')
    const wanted = String(req.headers['x-stream-protocol-version'] ?? '').split(',').map((s) => s.trim())
    if (!wanted.includes('portforward.k8s.io')) throw new StatusError(403, 'Forbidden', 'unable to upgrade: unable to negotiate protocol: client supports [' + wanted.join(' ') + '], server supports [portforward.k8s.io]')
    socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n')
    if (head.length) socket.unshift(head)
    serveSpdyPortForward(ctx, socketTransport(socket), ns, r.name)
    return
  }
  if (offered.includes(PF_SPDY_TUNNEL)) {
    accept(wss, req, socket, head, PF_SPDY_TUNNEL, (ws) => serveSpdyPortForward(ctx, wsTransport(ws), ns, r.name!))
    return
  }
  const ports = url.searchParams.getAll('ports').flatMap((p) => p.split(',')).map(Number)
  if (ports.length === 0 || ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) throw new StatusError(400, 'BadRequest', 'query parameter "port" is required')
  const protocol = PF_CHANNEL_PROTOCOLS.filter((p) => p !== 'v4.base64.channel.k8s.io').find((p) => offered.includes(p)) ?? ''
  accept(wss, req, socket, head, protocol, (ws) => void serveChannelPortForward(ctx, ws, ns, r.name!, ports))
}

function accept(wss: WebSocketServer, req: IncomingMessage, socket: Duplex, head: Buffer, protocol: string, fn: (ws: WebSocket) => void): void {
  ;(req as any).sandboxProtocol = protocol
  wss.options.handleProtocols = (_offered, request) => (request as any).sandboxProtocol || false
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('error', () => ws.terminate())
    fn(ws)
  })
}

export {statusObject, checkAccess}
