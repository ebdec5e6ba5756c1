// pods/exec over WebSocket (remotecommand channel protocols v4/v5, docs/protocol.md#exec-channels).
// Frames are [channel byte] + payload: 0 stdin, 1 stdout, 2 stderr, 3 status, 4 resize,
// 255 CLOSE (v5: [255, 0] = stdin EOF). The server never sends CLOSE to clients.
import {EventEmitter} from 'node:events'
import {PassThrough, Writable} from 'node:stream'
import type {WebSocket} from 'ws'
import {StatusError, type ExecResult} from '../types.js'
import type {ServerContext} from './context.js'
import {linkShape, shapeWebSocket} from './link.js'

export const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io']

/** Pick the subprotocol like a ≥1.30 API server (v5 first); execV4Only emulates an older one. */
export function chooseExecProtocol(offered: string[], v4Only: boolean): string | undefined {
  const allowed = v4Only ? ['v4.channel.k8s.io', 'channel.k8s.io'] : EXEC_PROTOCOLS
  return allowed.find((p) => offered.includes(p))
}

export interface ExecParams {
  namespace: string
  pod: string
  container?: string
  command: string[]
  stdin: boolean
  stdout: boolean
  stderr: boolean
  tty: boolean
}

export function execParams(namespace: string, pod: string, q: URLSearchParams): ExecParams {
  const b = (k: string) => q.get(k) === 'true' || q.get(k) === '1'
  const command = q.getAll('command')
  if (command.length === 0) throw new StatusError(400, 'BadRequest', 'you must specify at least 1 command')
  const p = {namespace, pod, container: q.get('container') ?? undefined, command, stdin: b('stdin'), stdout: b('stdout'), stderr: b('stderr'), tty: b('tty')}
  if (!p.stdin && !p.stdout && !p.stderr) throw new StatusError(400, 'BadRequest', 'you must specify at least 1 of stdin, stdout, stderr')
  return p
}

/** The v4/v5 status (channel 3 over WebSocket, the error stream over SPDY). */
export function execStatusJson(p: ExecParams, r: ExecResult): Record<string, unknown> {
  if ('exitCode' in r && r.exitCode === 0) return {metadata: {}, status: 'Success'}
  if ('exitCode' in r) {
    return {
      metadata: {}, status: 'Failure', reason: 'NonZeroExitCode',
      message: `command terminated with non-zero exit code: error executing command [${p.command.join(' ')}], exit code ${r.exitCode}`,
      details: {causes: [{reason: 'ExitCode', message: String(r.exitCode)}]},
    }
  }
  return {metadata: {}, status: 'Failure', reason: 'InternalError', message: `Internal error occurred: error executing command in container: ${r.error}`, details: {causes: [{message: r.error}]}, code: 500}
}

/** The one uplink of uplinkBytesPerSecond, per sandbox. */
const uplinks = new WeakMap<ServerContext, {freeAt: number}>()
function sharedUplink(ctx: ServerContext): {freeAt: number} {
  let l = uplinks.get(ctx)
  if (!l) uplinks.set(ctx, (l = {freeAt: 0}))
  return l
}

export async function serveExec(ctx: ServerContext, ws: WebSocket, p: ExecParams): Promise<void> {
  shapeWebSocket(ws, linkShape(ctx.faults.get()))
  const protocol = ws.protocol
  const jsonStatus = protocol === 'v4.channel.k8s.io' || protocol === 'v5.channel.k8s.io'
  const ac = new AbortController()
  const send = (channel: number, data: Buffer, cb?: (err?: Error) => void) => {
    if (ws.readyState !== ws.OPEN) return cb?.()
    ws.send(Buffer.concat([Buffer.from([channel]), data]), cb)
  }
  const output = (channel: number) =>
    new Writable({
      highWaterMark: 1 << 20,
      write(chunk: Buffer, _enc, cb) {
        // The ws send callback fires once the frame reached the socket: that is the backpressure.
        send(channel, chunk, () => cb())
      },
    })

  const stdin = p.stdin ? new PassThrough({highWaterMark: 1 << 20}) : undefined
  const stdout = p.stdout ? output(1) : undefined
  const stderr = p.stderr && !p.tty ? output(2) : undefined
  const resize = p.tty ? new EventEmitter() : undefined

  // Faults: cut after N stdin bytes; throttle stdin. The counted ones target bulk transfers: the short SQL
  // execs into the release's MySQL pod (every push checks its table there first) must not use them up.
  const counted = p.stdin && !p.pod.startsWith('mysql-client-')
  const cutAt = counted ? ctx.faults.takeCut('cutExecAfterBytes') : undefined
  const corruptAt = counted ? ctx.faults.takeCut('corruptExecStdinAt') : undefined
  let received = 0
  let pauses = 0
  const pause = () => {
    if (pauses++ === 0) ws.pause()
  }
  // CLOSING too: once we have sent our close frame, a socket left paused would never read the
  // client's close reply, and ws would wait out its 30 s close timeout (the slow-link fault made a
  // 200 kB upload take ~30 s that way).
  const resume = () => {
    if (--pauses === 0 && (ws.readyState === ws.OPEN || ws.readyState === ws.CLOSING)) ws.resume()
  }

  // one pause per full pipe, however many chunks arrive before it drains
  let awaitingDrain = false
  const deliver = (chunk: Buffer) => {
    if (!stdin || stdin.writableEnded) return
    if (!stdin.write(chunk) && !awaitingDrain) {
      awaitingDrain = true
      pause()
      stdin.once('drain', () => {
        awaitingDrain = false
        resume()
      })
    }
  }
  // Slow-link faults: every piece of stdin reaches the command when a link of `rate` bytes/s would have
  // carried it (the end of its slot), and the socket stays paused while pieces wait, so the client
  // feels the backpressure. stdin EOF waits for the queue. execBytesPerSecond is a link per exec stream;
  // uplinkBytesPerSecond one link that every exec's stdin shares (slots taken in arrival order).
  const ownLink = {freeAt: 0}
  let queued = 0
  let endQueued = false
  const waiting: Buffer[] = []
  const throttle = (chunk: Buffer, rate: number, link: {freeAt: number}) => {
    for (let off = 0; off < chunk.length; off += 16_384) {
      const piece = chunk.subarray(off, off + 16_384)
      link.freeAt = Math.max(Date.now(), link.freeAt) + (piece.length / rate) * 1000
      const linkFreeAt = link.freeAt
      queued++
      waiting.push(piece)
      pause()
      // timers set from different event-loop turns can fire out of order on a busy machine: each one
      // delivers the oldest waiting piece, never "its own"
      setTimeout(() => {
        deliver(waiting.shift()!)
        if (--queued === 0 && endQueued) stdin?.end()
        resume()
      }, linkFreeAt - Date.now()).unref()
    }
  }
  const endStdin = () => {
    if (!stdin || stdin.writableEnded) return
    if (queued > 0) endQueued = true
    else stdin.end()
  }

  ws.on('message', (data: Buffer) => {
    if (data.length === 0) return
    const channel = data[0]
    const payload = data.subarray(1)
    if (channel === 0 && stdin && !stdin.writableEnded) {
      let chunk = payload
      if (cutAt !== undefined && received + chunk.length > cutAt) {
        chunk = chunk.subarray(0, Math.max(0, cutAt - received))
        if (chunk.length) stdin.write(chunk)
        ws.terminate() // abrupt: no close frame, no status
        ac.abort()
        return
      }
      if (corruptAt !== undefined && corruptAt >= received && corruptAt < received + chunk.length) {
        chunk = Buffer.from(chunk) // a private copy: the frame buffer may be shared
        chunk[corruptAt - received] ^= 0xff
      }
      received += chunk.length
      const {execBytesPerSecond, uplinkBytesPerSecond} = ctx.faults.get()
      if (uplinkBytesPerSecond && uplinkBytesPerSecond > 0) throttle(chunk, uplinkBytesPerSecond, sharedUplink(ctx))
      else if (execBytesPerSecond && execBytesPerSecond > 0) throttle(chunk, execBytesPerSecond, ownLink)
      else deliver(chunk)
    } else if (channel === 4 && resize) {
      try {
        const s = JSON.parse(payload.toString('utf8'))
        resize.emit('resize', {width: s.Width ?? s.width, height: s.Height ?? s.height})
      } catch {
        // ignore malformed resize
      }
    } else if (channel === 255 && protocol === 'v5.channel.k8s.io' && payload[0] === 0) {
      endStdin()
    }
  })
  let closeTimer: NodeJS.Timeout | undefined
  ws.on('close', () => {
    endStdin()
    // A v4 client closes the socket to signal stdin EOF; let the command finish briefly, then stop it.
    closeTimer = setTimeout(() => ac.abort(), 10_000)
    closeTimer.unref()
  })
  ws.on('error', () => ac.abort())

  // The kubelet's first frame: empty, on the lowest writable channel.
  send(p.stdout ? 1 : p.stderr ? 2 : 3, Buffer.alloc(0))

  let result: ExecResult
  try {
    result = await ctx.runtime.exec(p.namespace, p.pod, p.container, p.command, {stdin, stdout, stderr, tty: p.tty, resize}, ac.signal)
  } catch (e) {
    result = {error: e instanceof Error ? e.message : String(e)}
  }
  await Promise.all([stdout, stderr].map((w) => (w ? finish(w) : undefined)))
  if (closeTimer) clearTimeout(closeTimer)
  if (ws.readyState !== ws.OPEN) return
  if (jsonStatus) send(3, Buffer.from(JSON.stringify(execStatusJson(p, result))))
  else if (!('exitCode' in result && result.exitCode === 0)) send(3, Buffer.from('error' in result ? result.error : `command terminated with non-zero exit code: exit code ${result.exitCode}`))
  // The command is done: no throttle or stdin backpressure may keep the socket from reading the close reply.
  pauses = 0
  ws.resume()
  ws.close(1000)
}

function finish(w: Writable): Promise<void> {
  if (w.writableFinished || w.destroyed) return Promise.resolve()
  return new Promise((resolve) => {
    w.once('finish', resolve)
    w.once('close', resolve)
    if (!w.writableEnded) w.end()
  })
}
