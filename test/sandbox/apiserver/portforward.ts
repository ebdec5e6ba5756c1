// pods/portforward: the WebSocket channel protocol (client-node) and SPDY/3.1 (kubectl), the
// latter either tunnelled in WebSocket binary messages (`SPDY/3.1+portforward.k8s.io`) or on a
// plain `Upgrade: SPDY/3.1` connection. Each forwarded TCP connection becomes one
// runtime.connect() to the pod's port.
import type {Duplex} from 'node:stream'
import type {WebSocket} from 'ws'
import type {ServerContext} from './context.js'
import {linkShape, shapeTransport, shapeWebSocket} from './link.js'
import {controlFrame, dataFrame, FLAG_FIN, FrameParser, GOAWAY, HeaderDecoder, HeaderEncoder, PING, RST_STREAM, SYN_REPLY, SYN_STREAM, u32pair, type Frame} from './spdy.js'

export const PF_SPDY_TUNNEL = 'SPDY/3.1+portforward.k8s.io'
export const PF_CHANNEL_PROTOCOLS = ['v4.channel.k8s.io', 'v4.base64.channel.k8s.io', 'channel.k8s.io']

/** Counts bytes through port-forward streams and cuts once, when cutPortForwardAfterBytes fires. */
class CutCounter {
  private seen = 0
  constructor(private readonly limit: number | undefined) {}
  /** Returns how many of `n` bytes may pass; 0 … n. Once it returns < n, the stream must be cut. */
  allow(n: number): number {
    if (this.limit === undefined) return n
    const ok = Math.max(0, Math.min(n, this.limit - this.seen))
    this.seen += n
    return ok
  }
}

const portBytes = (port: number) => {
  const b = Buffer.alloc(2)
  b.writeUInt16LE(port)
  return b
}

/** client-node style: channel 2i data, 2i+1 error, first frame on each carries the port (uint16 LE). */
export async function serveChannelPortForward(ctx: ServerContext, ws: WebSocket, ns: string, pod: string, ports: number[]): Promise<void> {
  shapeWebSocket(ws, linkShape(ctx.faults.get()))
  const cut = new CutCounter(ctx.faults.takeCut('cutPortForwardAfterBytes'))
  const send = (ch: number, data: Buffer) => ws.readyState === ws.OPEN && ws.send(Buffer.concat([Buffer.from([ch]), data]))
  const conns: (Duplex | undefined)[] = []
  ports.forEach((port, i) => {
    send(2 * i, portBytes(port))
    send(2 * i + 1, portBytes(port))
  })
  const initial = new Set<number>()
  ws.on('message', (msg: Buffer) => {
    if (msg.length === 0) return
    const ch = msg[0]
    const i = ch >> 1
    if (ch % 2 !== 0 || i >= ports.length) return
    const data = msg.subarray(1)
    // Clients may repeat the port prefix on their first frame of a channel (client-go does).
    if (!initial.has(ch)) {
      initial.add(ch)
      if (data.length >= 2 && data.readUInt16LE(0) === ports[i] && data.length === 2) return
    }
    const ok = cut.allow(data.length)
    if (ok < data.length) {
      conns[i]?.write(data.subarray(0, ok))
      ws.terminate()
      return
    }
    const c = conns[i]
    if (c && !c.write(data)) {
      ws.pause()
      c.once('drain', () => ws.resume())
    }
  })
  const closeAll = () => conns.forEach((c) => c?.destroy())
  ws.on('close', closeAll)
  ws.on('error', closeAll)
  ws.pause() // hold client data until the pod connections exist
  await Promise.all(ports.map(async (port, i) => {
    try {
      const c = await ctx.runtime.connect(ns, pod, port)
      conns[i] = c
      c.on('data', (d: Buffer) => {
        const ok = cut.allow(d.length)
        if (ok > 0) send(2 * i, d.subarray(0, ok))
        if (ok < d.length) ws.terminate()
      })
      c.on('end', () => ws.close(1000))
      c.on('error', (e) => {
        send(2 * i + 1, Buffer.from(`error forwarding port ${port} to pod ${pod}: ${e.message}`))
        ws.close(1000)
      })
    } catch (e) {
      send(2 * i + 1, Buffer.from(`error forwarding port ${port} to pod ${pod}, uid : ${(e as Error).message}`))
      ws.close(1000)
    }
  }))
  // Also after a failed connect: a paused socket never reads the client's close reply, and the
  // closing handshake would then wait out ws's 30 s close timeout.
  if (ws.readyState === ws.OPEN || ws.readyState === ws.CLOSING) ws.resume()
}

/** The byte pipe a SPDY session runs over: a raw socket or a WebSocket tunnel. */
export interface SpdyTransport {
  write(buf: Buffer): void
  onData(fn: (buf: Buffer) => void): void
  onClose(fn: () => void): void
  pause(): void
  resume(): void
  destroy(): void
}

export function wsTransport(ws: WebSocket): SpdyTransport {
  return {
    write: (b) => ws.readyState === ws.OPEN && ws.send(b),
    onData: (fn) => ws.on('message', (m: Buffer) => fn(m)),
    onClose: (fn) => ws.on('close', fn),
    pause: () => ws.pause(),
    resume: () => ws.readyState === ws.OPEN && ws.resume(),
    destroy: () => ws.terminate(),
  }
}

export function socketTransport(sock: Duplex): SpdyTransport {
  return {
    write: (b) => !sock.destroyed && sock.write(b),
    onData: (fn) => sock.on('data', fn),
    onClose: (fn) => sock.on('close', fn),
    pause: () => sock.pause(),
    resume: () => sock.resume(),
    destroy: () => sock.destroy(),
  }
}

interface PfPair {
  port: number
  error?: number
  data?: number
  conn?: Duplex
  started?: boolean
  /** Client bytes (and FIN) that arrived before the pod connection was up. */
  pending: Buffer[]
  pendingFin?: boolean
}

/**
 * The kubelet side of portforward.k8s.io over SPDY: the client opens an `error` and a `data`
 * stream per connection (headers streamtype, port, requestid); we reply to each, dial the pod port
 * once both exist, and copy. FIN on the client's data stream half-closes the pod connection.
 */
export function serveSpdyPortForward(ctx: ServerContext, transport: SpdyTransport, ns: string, pod: string): void {
  const t = shapeTransport(transport, linkShape(ctx.faults.get()))
  const parser = new FrameParser()
  const decoder = new HeaderDecoder()
  const encoder = new HeaderEncoder()
  const pairs = new Map<string, PfPair>()
  const byStream = new Map<number, PfPair>()
  const cut = new CutCounter(ctx.faults.takeCut('cutPortForwardAfterBytes'))
  let dead = false

  const die = () => {
    if (dead) return
    dead = true
    for (const p of pairs.values()) p.conn?.destroy()
    t.destroy()
  }
  const reply = (id: number) => t.write(controlFrame(SYN_REPLY, 0, Buffer.concat([u32pair(id, 0).subarray(0, 4), encoder.encode({})])))
  const sendData = (id: number, data: Buffer, fin = false) => {
    let off = 0
    do {
      const chunk = data.subarray(off, off + (1 << 16))
      off += 1 << 16
      t.write(dataFrame(id, fin && off >= data.length ? FLAG_FIN : 0, chunk))
    } while (off < data.length)
  }

  const start = async (p: PfPair) => {
    p.started = true
    try {
      const c = await ctx.runtime.connect(ns, pod, p.port)
      if (dead) return void c.destroy()
      p.conn = c
      for (const b of p.pending.splice(0)) c.write(b)
      if (p.pendingFin) c.end()
      c.on('data', (d: Buffer) => {
        const ok = cut.allow(d.length)
        if (ok > 0) sendData(p.data!, d.subarray(0, ok))
        if (ok < d.length) die()
      })
      c.on('end', () => {
        sendData(p.data!, Buffer.alloc(0), true)
        sendData(p.error!, Buffer.alloc(0), true)
      })
      c.on('error', (e) => {
        sendData(p.error!, Buffer.from(`error forwarding port ${p.port} to pod ${pod}: ${e.message}`), true)
        sendData(p.data!, Buffer.alloc(0), true)
      })
    } catch (e) {
      sendData(p.error!, Buffer.from(`error forwarding port ${p.port} to pod ${pod}, uid : ${(e as Error).message}`), true)
      sendData(p.data!, Buffer.alloc(0), true)
    }
  }

  const onFrame = (f: Frame) => {
    if (!f.control) {
      const p = byStream.get(f.streamId)
      if (!p) return
      if (f.streamId === p.data && f.data.length > 0) {
        const ok = cut.allow(f.data.length)
        if (ok < f.data.length) {
          p.conn?.write(f.data.subarray(0, ok))
          p.conn?.destroy()
          die()
          return
        }
        if (!p.conn) p.pending.push(Buffer.from(f.data))
        else if (!p.conn.write(f.data)) {
          t.pause()
          p.conn.once('drain', () => t.resume())
        }
      }
      if (f.flags & FLAG_FIN && f.streamId === p.data) {
        if (p.conn) p.conn.end()
        else p.pendingFin = true
      }
      return
    }
    switch (f.type) {
      case SYN_STREAM: {
        const id = f.payload.readUInt32BE(0) & 0x7fffffff
        const h = decoder.decode(f.payload.subarray(10))
        reply(id)
        const port = Number(h.port)
        const key = h.requestid ?? String(id)
        const p: PfPair = pairs.get(key) ?? {port, pending: []}
        pairs.set(key, p)
        byStream.set(id, p)
        if (h.streamtype === 'error') p.error = id
        else if (h.streamtype === 'data') p.data = id
        if (p.error !== undefined && p.data !== undefined && !p.started) void start(p)
        break
      }
      case RST_STREAM: {
        const p = byStream.get(f.payload.readUInt32BE(0) & 0x7fffffff)
        p?.conn?.destroy()
        break
      }
      case PING:
        t.write(controlFrame(PING, 0, f.payload))
        break
      case GOAWAY:
        die()
        break
      default:
        // SETTINGS, WINDOW_UPDATE, HEADERS: nothing to do (no flow control, see above).
        break
    }
  }

  t.onData((buf) => {
    if (dead) return
    try {
      for (const f of parser.push(buf)) onFrame(f)
    } catch {
      die()
    }
  })
  t.onClose(die)
  ctx.closers.add(die)
}
