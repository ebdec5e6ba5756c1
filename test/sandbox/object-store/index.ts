// The sandbox's S3-compatible object store: fauxqs (an S3 emulator from npm: correct multipart ETags,
// ListObjectsV2 paging, ranges, checksums) behind our own front door, which adds what fauxqs lacks and a
// real store has: SigV4 checks (header and presigned), TLS with the store's own CA, a chosen bind address,
// and fault switches (faults.objectStore). A static HTTPS server beside it serves archives and CSVs.
//
// Reachability: on Linux as root the store listens on the host end of a veth pair into a network
// namespace (netns.ts); pods labelled `tracebloc.io/egress=object-store` run in that namespace and reach
// the store (and nothing else) as https://tb-objects:PORT (an /etc/hosts entry in the pod's root) or by
// address over HTTP. Everywhere else it listens on 127.0.0.1 and pods have no path to it.
import {createHash, randomBytes} from 'node:crypto'
import * as fs from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import type {AddressInfo} from 'node:net'
import path from 'node:path'
import {buildApp} from 'fauxqs'

import type {Faults, ObjectStoreFaults} from '../faults.js'
import type {KObject} from '../types.js'
import {generateStoreCerts, STORE_HOSTNAME} from './certs.js'
import {canMakePodNetwork, createPodNetwork, type PodNetwork} from './netns.js'
import {checkSigV4} from './sigv4.js'

export {STORE_HOSTNAME} from './certs.js'
/** Pods with this label get the object-store network (and the TLS tools busybox wget needs to check certificates). */
export const EGRESS_LABEL = 'tracebloc.io/egress'
export const EGRESS_VALUE = 'object-store'

export interface ObjectStore {
  /** S3 API over plain HTTP, by address (reachable from the host and, with a pod network, from pods). */
  httpUrl: string
  /** S3 API over HTTPS, by address (the user's tools; the certificate names the address). */
  httpsUrl: string
  /** S3 API over HTTPS by the name pods resolve (undefined without a pod network). */
  podHttpsUrl?: string
  /** Static HTTPS file server (files under staticDir), by address; podStaticUrl by name. */
  staticUrl: string
  podStaticUrl?: string
  staticDir: string
  accessKeyId: string
  secretAccessKey: string
  region: string
  caPem: string
  /** The pod network, when one could be made (root, Linux, iproute2). */
  network?: PodNetwork
  /** The object-store.env text: an S3 client pointed at the store (HTTPS and the CA file, or plain HTTP). */
  envFile(opts: {tls: boolean; caFile: string}): string
  /** Kubelet hook: the network namespace and extra root binds for a pod that should reach the store. */
  podNetwork(pod: KObject, rootDir: string): {netns: string; fsArgs: string[]} | undefined
  stop(): Promise<void>
}

const REGION = 'us-east-1'

function xmlError(res: http.ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${randomBytes(8).toString('hex')}</RequestId></Error>`
  res.writeHead(status, {'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), ...headers})
  res.end(body)
}

/** Takes one unit of a counted fault that matches this path; returns it when it fires. */
function take<T extends {keyIncludes?: string}>(f: T | undefined, p: string, count: 'count' | 'times'): T | undefined {
  if (!f || (f.keyIncludes && !p.includes(f.keyIncludes))) return undefined
  const n = (f as Record<string, unknown>)[count] as number
  if (n <= 0) return undefined
  ;(f as Record<string, unknown>)[count] = n - 1
  return f
}

/**
 * Applies the body faults to one response: flip a byte (corrupt), stop after N bytes and drop the
 * connection (cut). Wraps write/end, so it works however the server sends the body.
 */
function faultBody(res: http.ServerResponse, opts: {corrupt: boolean; cutAt?: number; onCut?: () => void}): void {
  let sent = 0
  let flipped = !opts.corrupt
  let dead = false
  const write = res.write.bind(res) as (c: Buffer) => boolean
  const end = res.end.bind(res) as (c?: Buffer) => http.ServerResponse
  const shape = (chunk: unknown): {buf: Buffer; cut: boolean} => {
    let buf = chunk === undefined || chunk === null ? Buffer.alloc(0) : Buffer.isBuffer(chunk) ? Buffer.from(chunk) : Buffer.from(chunk as string)
    if (!flipped && buf.length > 0) {
      buf[0] ^= 0xff
      flipped = true
    }
    let cut = false
    if (opts.cutAt !== undefined && sent + buf.length > opts.cutAt) {
      buf = buf.subarray(0, Math.max(0, opts.cutAt - sent))
      cut = true
    }
    sent += buf.length
    return {buf, cut}
  }
  const kill = () => {
    dead = true
    res.socket?.destroy()
    opts.onCut?.()
  }
  res.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (dead) return false
    const {buf, cut} = shape(chunk)
    if (buf.length) write(buf)
    if (cut) {
      // flush what we wrote, then drop the connection mid-body
      setImmediate(kill)
      dead = true
      return false
    }
    const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined
    cb?.()
    return true
  }) as typeof res.write
  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    if (dead) return res
    const c = typeof chunk === 'function' ? undefined : chunk
    const {buf, cut} = shape(c)
    if (cut) {
      if (buf.length) write(buf)
      setImmediate(kill)
      dead = true
      return res
    }
    void rest
    return end(buf)
  }) as typeof res.end
}

export async function startObjectStore(opts: {faults: Faults; dir: string; /** default true */ podNetwork?: boolean}): Promise<ObjectStore> {
  let network: PodNetwork | undefined
  if (opts.podNetwork !== false && canMakePodNetwork()) {
    try {
      network = createPodNetwork()
      // a crashed test process must not leave the namespace and veth behind (exit handlers run sync code)
      const net = network
      process.once('exit', () => net.remove())
    } catch (e) {
      console.error(`sandbox object store: no pod network (${(e as Error).message.split('\n')[0]}); pods cannot reach the store`)
    }
  }
  const host = network?.hostIp ?? '127.0.0.1'
  const certs = generateStoreCerts([host])
  const accessKeyId = `SBX${randomBytes(8).toString('hex').toUpperCase()}`
  const secretAccessKey = randomBytes(20).toString('base64url')
  const keys = new Map([[accessKeyId, secretAccessKey]])
  const staticDir = path.join(opts.dir, 'static')
  fs.mkdirSync(staticDir, {recursive: true})

  const app = buildApp({logger: false, defaultRegion: REGION})
  await app.ready()
  const f = (): ObjectStoreFaults => opts.faults.get().objectStore ?? {}

  /** Replace an object with different bytes (same length) behind the client's back: "changed mid-pull". */
  const mutate = async (urlPath: string) => {
    const got = await app.inject({method: 'GET', url: urlPath})
    const body = Buffer.from(got.rawPayload)
    if (body.length > 0) body[body.length - 1] ^= 0xff
    await app.inject({method: 'PUT', url: urlPath, payload: body, headers: {'content-type': 'application/octet-stream'}})
  }

  const s3 = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const urlPath = (req.url ?? '/').split('?')[0]
    const clock = Date.now() + (f().clockSkewSeconds ?? 0) * 1000
    const denied = checkSigV4(req, keys, clock)
    if (denied) return xmlError(res, denied.status, denied.code, denied.message)
    const want = f().bucketRegion
    const signedFor = /\/\d{8}\/([a-z0-9-]+)\/s3\/aws4_request/.exec(decodeURIComponent(`${req.headers.authorization ?? ''} ${req.url ?? ''}`))?.[1]
    if (want && signedFor && signedFor !== want) return xmlError(res, 400, 'AuthorizationHeaderMalformed', `The authorization header is malformed; the region '${signedFor}' is wrong; expecting '${want}'`)
    const isBucketOp = /^\/[^/]+\/?$/.test(urlPath)
    const action = isBucketOp && (req.method === 'HEAD' || req.method === 'GET') ? 's3:ListBucket' : !isBucketOp && (req.method === 'HEAD' || req.method === 'GET') ? 's3:GetObject' : undefined
    if (action && f().denyActions?.includes(action)) return xmlError(res, 403, 'AccessDenied', 'Access Denied')
    const isObjectGet = req.method === 'GET' && /^\/[^/]+\/.+/.test(urlPath) && !(req.url ?? '').includes('?list-type')
    if (isObjectGet) {
      const p = decodeURIComponent(urlPath)
      const slow = take(f().slowDown, p, 'count')
      if (slow) return xmlError(res, 503, 'SlowDown', 'Please reduce your request rate.', {'retry-after': String(slow.retryAfterSeconds)})
      const change = f().changeMidPull
      if (change && p.includes(change.keyIncludes)) {
        opts.faults.set({objectStore: {...f(), changeMidPull: undefined}})
        faultBody(res, {corrupt: false, cutAt: change.bytes, onCut: () => void mutate(urlPath)})
      } else {
        const corrupt = !!take(f().corruptBody, p, 'times')
        const cut = take(f().cutAfterBytes, p, 'times')
        if (corrupt || cut) faultBody(res, {corrupt, cutAt: cut?.bytes})
      }
    }
    app.routing(req, res)
  }

  /** The static server: GET/HEAD of files under staticDir, with Range (wget -c resumes) and an md5 ETag. */
  const serveStatic = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const rel = decodeURIComponent((req.url ?? '/').split('?')[0])
    const file = path.join(staticDir, path.normalize(rel).replace(/^(\.\.[/\\])+/, ''))
    const st = file.startsWith(staticDir + path.sep) ? fs.statSync(file, {throwIfNoEntry: false}) : undefined
    if (!st?.isFile()) {
      res.writeHead(404, {'content-length': 0})
      return res.end()
    }
    const p = rel
    const slow = req.method === 'GET' ? take(f().slowDown, p, 'count') : undefined
    if (slow) {
      res.writeHead(503, {'retry-after': String(slow.retryAfterSeconds), 'content-length': 0})
      return res.end()
    }
    const etag = `"${createHash('md5').update(fs.readFileSync(file)).digest('hex')}"`
    const m = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers.range ?? ''))
    let start = 0
    let endAt = st.size - 1
    let status = 200
    const headers: Record<string, string | number> = {etag, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream', 'last-modified': st.mtime.toUTCString()}
    if (m) {
      start = Number(m[1])
      endAt = m[2] ? Math.min(Number(m[2]), st.size - 1) : st.size - 1
      if (start >= st.size) {
        res.writeHead(416, {'content-range': `bytes */${st.size}`, 'content-length': 0})
        return res.end()
      }
      status = 206
      headers['content-range'] = `bytes ${start}-${endAt}/${st.size}`
    }
    headers['content-length'] = endAt - start + 1
    if (req.method === 'GET') {
      const corrupt = !!take(f().corruptBody, p, 'times')
      const cut = take(f().cutAfterBytes, p, 'times')
      if (corrupt || cut) faultBody(res, {corrupt, cutAt: cut?.bytes})
    }
    res.writeHead(status, headers)
    if (req.method === 'HEAD') return res.end()
    fs.createReadStream(file, {start, end: endAt}).pipe(res)
  }

  const tls = {key: certs.keyPem, cert: certs.certPem}
  const servers = [http.createServer(s3), https.createServer(tls, s3), https.createServer(tls, serveStatic)]
  const ports: number[] = []
  for (const s of servers) {
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject)
      s.listen(0, host, () => resolve())
    })
    ports.push((s.address() as AddressInfo).port)
  }
  const [httpPort, httpsPort, staticPort] = ports

  return {
    httpUrl: `http://${host}:${httpPort}`,
    httpsUrl: `https://${host}:${httpsPort}`,
    podHttpsUrl: network ? `https://${STORE_HOSTNAME}:${httpsPort}` : undefined,
    staticUrl: `https://${host}:${staticPort}`,
    podStaticUrl: network ? `https://${STORE_HOSTNAME}:${staticPort}` : undefined,
    staticDir,
    accessKeyId,
    secretAccessKey,
    region: REGION,
    caPem: certs.caPem,
    network,
    envFile({tls, caFile}) {
      const lines = [
        '# The sandbox object store (S3 API). Source this file, then use any S3 client, e.g.',
        '#   aws s3 mb s3://my-bucket && aws s3 cp ./data s3://my-bucket/data --recursive',
        `AWS_ENDPOINT_URL=${tls ? `https://${host}:${httpsPort}` : `http://${host}:${httpPort}`}`,
        `AWS_ACCESS_KEY_ID=${accessKeyId}`,
        `AWS_SECRET_ACCESS_KEY=${secretAccessKey}`,
        `AWS_REGION=${REGION}`,
      ]
      if (tls) lines.push(`AWS_CA_BUNDLE=${caFile}`)
      return lines.map((l) => (l.startsWith('#') ? l : `export ${l}`)).join('\n') + '\n'
    },
    podNetwork(pod, rootDir) {
      if (!network || pod.metadata?.labels?.[EGRESS_LABEL] !== EGRESS_VALUE || f().noPodEgress) return undefined
      // The name pods use for the store, as cluster DNS would answer it.
      fs.mkdirSync(path.join(rootDir, 'etc'), {recursive: true})
      fs.writeFileSync(path.join(rootDir, 'etc', 'hosts'), `127.0.0.1 localhost\n${network.hostIp} ${STORE_HOSTNAME}\n`)
      // busybox wget checks certificates only through `openssl s_client` on PATH (otherwise it checks
      // nothing): give these pods the host's openssl and its libraries, read-only, so TLS is verified.
      const fsArgs: string[] = []
      if (fs.existsSync('/usr/bin/openssl')) {
        fs.writeFileSync(path.join(rootDir, 'bin', 'openssl'), '')
        fsArgs.push('--ro-bind', '/usr/bin/openssl', '/bin/openssl')
        for (const lib of ['/lib', '/lib64']) {
          if (!fs.existsSync(lib)) continue
          fs.mkdirSync(path.join(rootDir, lib), {recursive: true})
          fsArgs.push('--ro-bind', lib, lib)
        }
      }
      return {netns: network.netns, fsArgs}
    },
    async stop() {
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => {
        s.closeAllConnections?.()
        s.close(() => resolve())
      })))
      await app.close()
      network?.remove()
    },
  }
}
