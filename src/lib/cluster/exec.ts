// A small pods/exec client on `ws`, instead of client-node's Exec, because we need what it lacks
// (docs/protocol.md#client-node): stdin backpressure (it buffers a whole tar stream in memory), the Status body
// of a failed upgrade, pings for idle load balancers, and settling on a cut connection instead of hanging.
import type {Readable} from 'node:stream'
import tls from 'node:tls'
import WebSocket from 'ws'

import {CliError, ExitCode} from '../output/errors.js'
import {ClusterTarget} from './kube.js'

const STDIN = 0
const STDOUT = 1
const STDERR = 2
const STATUS = 3
const CLOSE = 255
const MAX_FRAME = 256 << 10
/** Stdin frames one stream may have in flight (queued in ws/TLS/the socket) at once. */
const FRAMES = 8

export interface ExecOptions {
  namespace: string
  pod: string
  container?: string
  command: string[]
  /**
   * Bytes for the command's stdin, sent in frames of up to 256 KiB; an empty chunk sends what is buffered
   * at once. Callers length-frame the remote side (`head -c N`) so v4 servers work too.
   */
  stdin?: Readable | AsyncIterable<Buffer>
  onStdout?: (chunk: Buffer) => void
  onStderr?: (chunk: Buffer) => void
  /** Called with the number of stdin bytes handed to the socket so far (for progress). */
  onStdinProgress?: (bytes: number) => void
  /** Called once all of stdin has been handed to the socket (the command may still be running). */
  onStdinDone?: () => void
  signal?: AbortSignal
  /** Keep at most this many bytes of stdout/stderr in the result (default 1 MiB). */
  captureLimit?: number
}

export interface ExecResult {
  exitCode: number
  stdout: string
  stderr: string
  protocol: string
}

/** The connection dropped before the command reported its status: safe to retry the step. */
export class ExecStreamCut extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ExecStreamCut'
  }
}

/** The API server refused the upgrade (RBAC, pod gone, container not running …). */
export class ExecRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Seconds from a 429/503 Retry-After header. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message)
    this.name = 'ExecRefused'
  }
}

/**
 * Node's cipher list with AES-128-GCM first among the TLS 1.3 suites (Node puts AES-256 first; Go clients
 * such as kubectl prefer AES-128 on CPUs with AES instructions): a third less encryption work per byte sent.
 */
const CIPHERS = (() => {
  const all = tls.DEFAULT_CIPHERS.split(':')
  const first = 'TLS_AES_128_GCM_SHA256'
  return all.includes(first) ? [first, ...all.filter((c) => c !== first)].join(':') : tls.DEFAULT_CIPHERS
})()

export async function wsOptions(t: ClusterTarget): Promise<WebSocket.ClientOptions> {
  // Every frame is masked with a fresh random key (ws's default, RFC 6455 §5.3): a fixed or zero mask
  // lets a peer or an intermediary predict the bytes on the wire, which masking exists to prevent.
  const opts: WebSocket.ClientOptions = {ciphers: CIPHERS}
  await t.kc.applyToHTTPSOptions(opts)
  return opts
}

export function wsUrl(t: ClusterTarget, path: string): string {
  return t.server.replace(/^http/, 'ws').replace(/\/$/, '') + path
}

/** Resolve the Status body of a refused upgrade into a readable error. */
export function onUpgradeRefused(ws: WebSocket, reject: (e: Error) => void): void {
  ws.on('unexpected-response', (_req, res) => {
    let body = ''
    res.on('data', (c: Buffer) => {
      if (body.length < 4096) body += c.toString('utf8')
    })
    res.on('end', () => {
      let message = body.trim() || `HTTP ${res.statusCode}`
      try {
        message = JSON.parse(body).message ?? message
      } catch {
        // plain-text body
      }
      const ra = Number(res.headers['retry-after'])
      reject(new ExecRefused(res.statusCode ?? 0, message, Number.isFinite(ra) && ra > 0 ? ra : undefined))
    })
  })
}

export async function execInPod(t: ClusterTarget, o: ExecOptions): Promise<ExecResult> {
  const q = new URLSearchParams()
  for (const c of o.command) q.append('command', c)
  if (o.container) q.set('container', o.container)
  q.set('stdout', 'true')
  q.set('stderr', 'true')
  if (o.stdin) q.set('stdin', 'true')
  const path = `/api/v1/namespaces/${encodeURIComponent(o.namespace)}/pods/${encodeURIComponent(o.pod)}/exec?${q}`
  if (o.signal?.aborted) throw o.signal.reason instanceof Error ? o.signal.reason : new Error('aborted')
  const options = await wsOptions(t)
  const ws = new WebSocket(wsUrl(t, path), ['v5.channel.k8s.io', 'v4.channel.k8s.io'], options)
  const limit = o.captureLimit ?? 1 << 20
  let stdout = ''
  let stderr = ''
  let settled = false

  return new Promise<ExecResult>((resolve, reject) => {
    const ping = setInterval(() => ws.readyState === WebSocket.OPEN && ws.ping(), 20_000)
    const done = (err: Error | undefined, result?: ExecResult) => {
      if (settled) return
      settled = true
      clearInterval(ping)
      o.signal?.removeEventListener('abort', onAbort)
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate()
      if (err) reject(err)
      else resolve(result!)
    }
    // Listeners first: terminate() on a connecting socket emits 'error' on the next tick.
    ws.on('error', (e) => done(new ExecStreamCut(`exec connection to ${o.namespace}/${o.pod} failed: ${e.message}`)))
    onUpgradeRefused(ws, (e) => done(e))
    const onAbort = () => done(o.signal!.reason instanceof Error ? o.signal!.reason : new Error('aborted'))
    if (o.signal?.aborted) return onAbort()
    o.signal?.addEventListener('abort', onAbort, {once: true})
    ws.on('close', (code) => done(new ExecStreamCut(`exec stream to ${o.namespace}/${o.pod} closed before the command finished (code ${code})`)))
    ws.on('message', (data: Buffer) => {
      if (data.length < 1) return
      const ch = data[0]
      const payload = data.subarray(1)
      if (payload.length === 0) return
      if (ch === STDOUT) {
        o.onStdout?.(payload)
        if (stdout.length < limit) stdout += payload.toString('utf8')
      } else if (ch === STDERR) {
        o.onStderr?.(payload)
        if (stderr.length < limit) stderr += payload.toString('utf8')
      } else if (ch === STATUS) {
        done(undefined, {exitCode: exitCodeFromStatus(payload.toString('utf8')), stdout, stderr, protocol: ws.protocol})
      }
    })
    ws.on('open', () => {
      if (!o.stdin) return
      pumpStdin(ws, o.stdin, o.onStdinProgress, o.onStdinDone).catch((e) => done(e instanceof Error ? e : new Error(String(e))))
    })
  })
}

async function pumpStdin(ws: WebSocket, stdin: Readable | AsyncIterable<Buffer>, onProgress?: (n: number) => void, onDone?: () => void): Promise<void> {
  let sent = 0
  // Coalesce small chunks (tar headers, padding, small files) into frames of up to MAX_FRAME: every frame
  // costs a TLS record run, a message event and a pipe write on the far side (256 KiB frames measured as
  // fast as 1 MiB ones). Frames come from a fixed pool and return to it when ws has written them to the
  // socket: that bounds what one stream holds (FRAMES × MAX_FRAME = 2 MiB) and is the backpressure, and
  // no per-frame garbage piles up between GCs (fresh buffers per frame let RSS pass 250 MiB).
  const free: Buffer[] = []
  let allocated = 0
  let waiting: (() => void) | undefined
  let failed = false
  const take = async (): Promise<Buffer | undefined> => {
    for (;;) {
      if (failed || ws.readyState !== WebSocket.OPEN) return undefined
      const f = free.pop()
      if (f) return f
      if (allocated < FRAMES) {
        allocated++
        return Buffer.allocUnsafe(MAX_FRAME + 1)
      }
      await new Promise<void>((r) => (waiting = r))
    }
  }
  const give = (f: Buffer, err?: Error) => {
    if (err) failed = true
    else free.push(f)
    const w = waiting
    waiting = undefined
    w?.()
  }
  // a closed socket never calls back: wake a waiting take() so the pump ends
  ws.once('close', () => give(Buffer.alloc(0), new Error('closed')))
  let frame = await take()
  if (!frame) return
  let fill = 1
  const flush = async (): Promise<boolean> => {
    if (fill <= 1) return true
    const f = frame!
    f[0] = STDIN
    ws.send(f.subarray(0, fill), {binary: true}, (err) => give(f, err))
    sent += fill - 1
    onProgress?.(sent)
    fill = 1
    frame = await take()
    return frame !== undefined
  }
  for await (const chunk of stdin as AsyncIterable<Buffer>) {
    // an empty chunk asks for what is buffered to go now (a source that trickles lines, not a stream)
    if (chunk.length === 0 && !(await flush())) return
    for (let off = 0; off < chunk.length; ) {
      const n = Math.min(chunk.length - off, MAX_FRAME + 1 - fill)
      chunk.copy(frame!, fill, off, off + n)
      fill += n
      off += n
      if (fill === MAX_FRAME + 1 && !(await flush())) return
    }
  }
  if (!(await flush())) return
  // v5: half-close stdin so the process sees EOF and the status still arrives. On v4 the remote
  // command is length-framed by the caller, so nothing more is needed (closing would lose the status).
  if (ws.readyState === WebSocket.OPEN && ws.protocol === 'v5.channel.k8s.io') ws.send(Buffer.from([CLOSE, STDIN]))
  // the command may run on for a while (in-pod checks): its idle frames need not live that long
  free.length = 0
  allocated = FRAMES
  frame = undefined
  onDone?.()
}

function exitCodeFromStatus(text: string): number {
  let st: {status?: string; reason?: string; message?: string; details?: {causes?: Array<{reason?: string; message?: string}>}}
  try {
    st = JSON.parse(text)
  } catch {
    return text.trim() === '' ? 0 : 1
  }
  if (st.status === 'Success') return 0
  const cause = st.details?.causes?.find((c) => c.reason === 'ExitCode')
  if (cause?.message && /^\d+$/.test(cause.message)) return Number(cause.message)
  // e.g. InternalError: executable not found
  throw new CliError(`command failed in pod: ${st.message ?? st.reason ?? text}`, {exitCode: ExitCode.STAGING, reason: 'exec_failed'})
}

/** Quote one argument for POSIX sh. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`
}
