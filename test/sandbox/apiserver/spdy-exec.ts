// pods/exec over plain SPDY/3.1 — what kubectl 1.32 falls back to when the WebSocket upgrade for
// v5.channel.k8s.io is refused (an API server that offers only v4: fault execV4Only). The client
// opens one SPDY stream per role (headers `streamtype`: error, stdin, stdout, stderr, resize) and
// the kubelet side answers each, runs the command once the requested streams exist, copies data,
// FINs stdout/stderr, writes the metav1.Status JSON on the error stream (v4) or the bare message
// (v1–v3, failures only), and closes the connection.
import {EventEmitter} from 'node:events'
import {PassThrough, Writable} from 'node:stream'
import type {Duplex} from 'node:stream'
import type {ExecResult} from '../types.js'
import type {ServerContext} from './context.js'
import {execStatusJson, type ExecParams} from './exec.js'
import {linkShape, shapeSocket} from './link.js'
import {controlFrame, dataFrame, FLAG_FIN, FrameParser, GOAWAY, HeaderDecoder, HeaderEncoder, PING, RST_STREAM, SYN_REPLY, SYN_STREAM, u32pair, type Frame} from './spdy.js'

/** SPDY remotecommand protocols, preferred first (v5 exists only for WebSockets). */
export const SPDY_EXEC_PROTOCOLS = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io']

export function serveSpdyExec(ctx: ServerContext, socket: Duplex, p: ExecParams, protocol: string): void {
  shapeSocket(socket, linkShape(ctx.faults.get()))
  const parser = new FrameParser()
  const decoder = new HeaderDecoder()
  const encoder = new HeaderEncoder()
  const streams = new Map<string, number>()
  const ac = new AbortController()
  const stdin = p.stdin ? new PassThrough({highWaterMark: 1 << 20}) : undefined
  const resize = p.tty ? new EventEmitter() : undefined
  let started = false
  let dead = false
  const write = (b: Buffer) => !dead && !socket.destroyed && socket.write(b)
  const sendData = (id: number | undefined, data: Buffer, fin = false) => {
    if (id === undefined) return
    let off = 0
    do {
      const chunk = data.subarray(off, off + (1 << 16))
      off += 1 << 16
      write(dataFrame(id, fin && off >= data.length ? FLAG_FIN : 0, chunk))
    } while (off < data.length)
  }
  const output = (role: string) =>
    new Writable({
      highWaterMark: 1 << 20,
      write(chunk: Buffer, _enc, cb) {
        sendData(streams.get(role), chunk)
        cb()
      },
    })
  const stdout = p.stdout ? output('stdout') : undefined
  const stderr = p.stderr && !p.tty ? output('stderr') : undefined
  const required = ['error', ...(p.stdin ? ['stdin'] : []), ...(p.stdout ? ['stdout'] : []), ...(stderr ? ['stderr'] : [])]

  const die = () => {
    if (dead) return
    dead = true
    ac.abort()
    stdin?.end()
    socket.destroy()
  }

  const run = async () => {
    started = true
    let result: ExecResult
    try {
      result = await ctx.runtime.exec(p.namespace, p.pod, p.container, p.command, {stdin, stdout, stderr, tty: p.tty, resize}, ac.signal)
    } catch (e) {
      result = {error: e instanceof Error ? e.message : String(e)}
    }
    if (dead) return
    sendData(streams.get('stdout'), Buffer.alloc(0), true)
    sendData(streams.get('stderr'), Buffer.alloc(0), true)
    const ok = 'exitCode' in result && result.exitCode === 0
    let status = Buffer.alloc(0)
    if (protocol === 'v4.channel.k8s.io') status = Buffer.from(JSON.stringify(execStatusJson(p, result)))
    else if (!ok) status = Buffer.from('error' in result ? result.error : `command terminated with non-zero exit code: exit code ${result.exitCode}`)
    sendData(streams.get('error'), status, true)
    write(controlFrame(GOAWAY, 0, u32pair(0, 0)))
    dead = true
    ctx.closers.delete(die)
    socket.end()
  }

  const onFrame = (f: Frame) => {
    if (!f.control) {
      if (f.streamId === streams.get('stdin') && stdin && !stdin.writableEnded) {
        if (f.data.length) stdin.write(Buffer.from(f.data))
        if (f.flags & FLAG_FIN) stdin.end()
      } else if (f.streamId === streams.get('resize') && resize && f.data.length) {
        for (const line of f.data.toString('utf8').split('\n').filter(Boolean)) {
          try {
            const s = JSON.parse(line)
            resize.emit('resize', {width: s.Width ?? s.width, height: s.Height ?? s.height})
          } catch {
            // ignore a malformed resize
          }
        }
      }
      return
    }
    switch (f.type) {
      case SYN_STREAM: {
        const id = f.payload.readUInt32BE(0) & 0x7fffffff
        const h = decoder.decode(f.payload.subarray(10))
        write(controlFrame(SYN_REPLY, 0, Buffer.concat([u32pair(id, 0).subarray(0, 4), encoder.encode({})])))
        if (h.streamtype) streams.set(h.streamtype, id)
        if (!started && required.every((r) => streams.has(r))) void run()
        break
      }
      case RST_STREAM:
        if ((f.payload.readUInt32BE(0) & 0x7fffffff) === streams.get('stdin')) stdin?.end()
        break
      case PING:
        write(controlFrame(PING, 0, f.payload))
        break
      case GOAWAY:
        die()
        break
      default:
        break
    }
  }

  socket.on('data', (buf: Buffer) => {
    if (dead) return
    try {
      for (const f of parser.push(buf)) onFrame(f)
    } catch {
      die()
    }
  })
  socket.on('close', () => {
    if (!dead) die()
  })
  socket.on('error', die)
  ctx.closers.add(die)
}
