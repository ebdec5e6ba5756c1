// The modelled remote link (faults linkLatencyMs, linkBytesPerSecond): every exec and port-forward
// connection gets its own link, like a TCP connection across a WAN. Each direction carries at most
// `bytesPerSecond` and delivers a message half a round trip after its last byte left; the sender is
// paused while more than one bandwidth-delay product (plus 256 KiB) is on its way, so a client feels
// the link the way it would feel a TCP window. Connections do not share a limit: two streams carry 2x.
// The knobs are read when a connection opens; a connection keeps its link.
import type {Duplex} from 'node:stream'
import type {WebSocket} from 'ws'
import type {FaultSettings} from '../faults.js'
import type {SpdyTransport} from './portforward.js'

export interface LinkShape {
  /** Round-trip time in ms (each direction delays by half). */
  latencyMs: number
  /** Per-connection, per-direction cap in bytes/s (0 or unset: no cap). */
  bytesPerSecond: number
}

/** The link to model for a new connection, or undefined when the knobs are off. */
export function linkShape(f: Readonly<FaultSettings>): LinkShape | undefined {
  const latencyMs = Math.max(0, f.linkLatencyMs ?? 0)
  const bytesPerSecond = Math.max(0, f.linkBytesPerSecond ?? 0)
  return latencyMs > 0 || bytesPerSecond > 0 ? {latencyMs, bytesPerSecond} : undefined
}

export interface Clock {
  now(): number
  /** Run fn after ms; returns a cancel function. */
  after(ms: number, fn: () => void): () => void
}

const realClock: Clock = {
  now: () => performance.now(),
  after(ms, fn) {
    const t = setTimeout(fn, Math.max(0, ms))
    t.unref()
    return () => clearTimeout(t)
  },
}

/** Bytes every LinkPipe of this process has carried: tests check that a stream went through the modelled link. */
export const linkCounters = {bytes: 0}

/**
 * One direction of a link: messages leave one after another at the link's rate and arrive, in order,
 * half a round trip after their last byte left. `queued` counts bytes accepted but not yet delivered.
 */
export class LinkPipe {
  queued = 0
  private freeAt = 0
  private readonly items: Array<{at: number; bytes: number; deliver: () => void}> = []
  private cancel?: () => void
  private readonly drainWaiters: Array<() => void> = []

  constructor(
    readonly shape: LinkShape,
    private readonly clock: Clock = realClock,
  ) {}

  /** The byte count above which the sender should pause: one bandwidth-delay product plus 256 KiB. */
  get window(): number {
    return (this.shape.bytesPerSecond * this.shape.latencyMs) / 1000 + (256 << 10)
  }

  /** Queue `bytes` (0 for a control event that keeps its place in line); returns when it will be delivered. */
  push(bytes: number, deliver: () => void): number {
    const now = this.clock.now()
    const rate = this.shape.bytesPerSecond
    this.freeAt = Math.max(now, this.freeAt) + (rate > 0 ? (bytes / rate) * 1000 : 0)
    const at = this.freeAt + this.shape.latencyMs / 2
    this.queued += bytes
    linkCounters.bytes += bytes
    this.items.push({at, bytes, deliver})
    if (this.items.length === 1) this.arm()
    return at
  }

  /** Resolves once everything queued so far was delivered. */
  onDrain(fn: () => void): void {
    if (this.items.length === 0) fn()
    else this.drainWaiters.push(fn)
  }

  close(): void {
    this.cancel?.()
    this.items.length = 0
    this.queued = 0
  }

  private arm(): void {
    const head = this.items[0]
    if (!head) return
    this.cancel = this.clock.after(head.at - this.clock.now(), () => this.flush())
  }

  private flush(): void {
    this.cancel = undefined
    const now = this.clock.now()
    while (this.items.length > 0 && this.items[0].at <= now + 0.5) {
      const it = this.items.shift()!
      this.queued -= it.bytes
      it.deliver()
    }
    if (this.items.length > 0) this.arm()
    else for (const w of this.drainWaiters.splice(0)) w()
  }
}

/**
 * Send a connection's traffic through a modelled link: client messages (and the close that follows them)
 * reach the handlers late, sends reach the client late. Works on the object before or after handlers
 * were attached, since it delays the events themselves. `dataEvent` is 'message' (ws) or 'data' (socket).
 */
function shapeEndpoint(
  target: {emit: (ev: string | symbol, ...a: unknown[]) => boolean; pause(): void; resume(): void},
  shape: LinkShape,
  dataEvent: string,
  delayedEvents: string[],
  clock?: Clock,
): {down: LinkPipe; up: LinkPipe} {
  const up = new LinkPipe(shape, clock)
  const down = new LinkPipe(shape, clock)
  const emit = target.emit.bind(target)
  const pause = target.pause.bind(target)
  const resume = target.resume.bind(target)
  let appPaused = false
  let linkPaused = false
  const apply = () => (appPaused || linkPaused ? pause() : resume())
  target.pause = () => {
    appPaused = true
    apply()
  }
  target.resume = () => {
    appPaused = false
    apply()
  }
  target.emit = (ev: string | symbol, ...args: unknown[]) => {
    if (ev === dataEvent) {
      const b = args[0] as Buffer
      up.push(b.length, () => {
        emit(ev, ...args)
        if (linkPaused && up.queued <= up.window) {
          linkPaused = false
          apply()
        }
      })
      if (!linkPaused && up.queued > up.window) {
        linkPaused = true
        apply()
      }
      return true
    }
    if (typeof ev === 'string' && delayedEvents.includes(ev)) {
      up.push(0, () => emit(ev, ...args))
      return true
    }
    if (ev === 'close') {
      // nothing more arrives: deliver what is on its way, then the close
      up.onDrain(() => {
        down.close()
        emit(ev, ...args)
      })
      return true
    }
    return emit(ev, ...args)
  }
  return {down, up}
}

/** A WebSocket (exec, channel port-forward) behind a modelled link. */
export function shapeWebSocket(ws: WebSocket, shape: LinkShape | undefined, clock?: Clock): void {
  if (!shape) return
  const {down} = shapeEndpoint(ws as never, shape, 'message', [], clock)
  const send = ws.send.bind(ws) as (data: Buffer, cb?: (err?: Error) => void) => void
  const close = ws.close.bind(ws)
  ;(ws as {send: unknown}).send = (data: Buffer, a?: unknown, b?: unknown) => {
    const cb = (typeof a === 'function' ? a : b) as ((err?: Error) => void) | undefined
    const full = down.queued > down.window
    down.push(data.length, () => {
      if (ws.readyState === ws.OPEN) send(data)
      if (full) cb?.()
    })
    if (!full && cb) setImmediate(cb)
  }
  ws.close = (...args: Parameters<WebSocket['close']>) => down.onDrain(() => close(...args))
}

/** A raw upgraded socket (SPDY exec, SPDY port-forward) behind a modelled link. */
export function shapeSocket(sock: Duplex, shape: LinkShape | undefined, clock?: Clock): void {
  if (!shape) return
  const {down} = shapeEndpoint(sock as never, shape, 'data', ['end'], clock)
  const write = sock.write.bind(sock) as (b: Buffer) => boolean
  const end = sock.end.bind(sock) as () => void
  ;(sock as {write: unknown}).write = (b: Buffer) => {
    down.push(b.length, () => {
      if (!sock.destroyed) write(b)
    })
    return true // SPDY writers here do not wait for 'drain'; the down link only delays
  }
  ;(sock as {end: unknown}).end = () => down.onDrain(() => end())
}

/** A SPDY port-forward transport (over a socket or a WebSocket tunnel) behind a modelled link. */
export function shapeTransport(t: SpdyTransport, shape: LinkShape | undefined, clock?: Clock): SpdyTransport {
  if (!shape) return t
  const up = new LinkPipe(shape, clock)
  const down = new LinkPipe(shape, clock)
  let appPaused = false
  let linkPaused = false
  const apply = () => (appPaused || linkPaused ? t.pause() : t.resume())
  return {
    write: (b) => down.push(b.length, () => t.write(b)),
    onData: (fn) =>
      t.onData((b) => {
        up.push(b.length, () => {
          fn(b)
          if (linkPaused && up.queued <= up.window) {
            linkPaused = false
            apply()
          }
        })
        if (!linkPaused && up.queued > up.window) {
          linkPaused = true
          apply()
        }
      }),
    onClose: (fn) => t.onClose(() => up.onDrain(fn)),
    pause: () => {
      appPaused = true
      apply()
    },
    resume: () => {
      appPaused = false
      apply()
    },
    destroy: () => {
      up.close()
      down.close()
      t.destroy()
    },
  }
}
