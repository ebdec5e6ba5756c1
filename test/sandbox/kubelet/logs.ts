// A container's log, kept like the kubelet's CRI log file: one record per line with its RFC 3339
// timestamp and stream, stdout and stderr interleaved in arrival order. Readers get tail/since/
// timestamps and can follow until the container exits.
import {EventEmitter} from 'node:events'
import * as fs from 'node:fs'
import type {Writable} from 'node:stream'
import type {LogOptions} from '../types.js'

interface LogLine {
  time: Date
  text: Buffer
}

function rfc3339Nano(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z')
}

export class ContainerLog {
  private readonly lines: LogLine[] = []
  private readonly partial: Record<'stdout' | 'stderr', Buffer> = {stdout: Buffer.alloc(0), stderr: Buffer.alloc(0)}
  private readonly events = new EventEmitter()
  closed = false

  constructor(private readonly file: string) {
    this.events.setMaxListeners(0)
  }

  write(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    let buf = Buffer.concat([this.partial[stream], chunk])
    let nl: number
    while ((nl = buf.indexOf(0x0a)) >= 0) {
      this.push(stream, buf.subarray(0, nl + 1), 'F')
      buf = buf.subarray(nl + 1)
    }
    this.partial[stream] = buf
  }

  private push(stream: string, text: Buffer, tag: 'F' | 'P'): void {
    const line = {time: new Date(), text: Buffer.from(text)}
    this.lines.push(line)
    fs.appendFileSync(this.file, `${rfc3339Nano(line.time)} ${stream} ${tag} ${text.toString('utf8').replace(/\n$/, '')}\n`)
    this.events.emit('line', line)
  }

  /** Container exited: flush unterminated output (shown without a newline, like `kubectl logs`). */
  close(): void {
    if (this.closed) return
    for (const s of ['stdout', 'stderr'] as const) if (this.partial[s].length) this.push(s, this.partial[s], 'P')
    this.closed = true
    this.events.emit('close')
  }

  /** Resolves true when the stream was cut by the `cutAfterBytes` fault. */
  async read(opts: LogOptions, out: Writable, signal: AbortSignal, cutAfterBytes?: number): Promise<boolean> {
    const since = opts.sinceTime ? new Date(opts.sinceTime) : opts.sinceSeconds ? new Date(Date.now() - opts.sinceSeconds * 1000) : undefined
    let lines = this.lines.filter((l) => !since || l.time >= since)
    if (opts.tailLines !== undefined && opts.tailLines >= 0) lines = lines.slice(Math.max(0, lines.length - opts.tailLines))
    let sent = 0
    let cut = false
    const send = (l: LogLine): boolean => {
      if (cut) return false
      let data = opts.timestamps ? Buffer.concat([Buffer.from(rfc3339Nano(l.time) + ' '), l.text]) : l.text
      if (opts.limitBytes !== undefined && sent + data.length > opts.limitBytes) data = data.subarray(0, Math.max(0, opts.limitBytes - sent))
      if (cutAfterBytes !== undefined && sent + data.length > cutAfterBytes) {
        data = data.subarray(0, Math.max(0, cutAfterBytes - sent))
        cut = true
      }
      sent += data.length
      if (data.length) out.write(data)
      return !cut && !(opts.limitBytes !== undefined && sent >= opts.limitBytes)
    }
    for (const l of lines) if (!send(l)) return cut
    if (!opts.follow || this.closed || signal.aborted) return cut
    await new Promise<void>((resolve) => {
      const onLine = (l: LogLine) => {
        if (!send(l)) done()
      }
      const done = () => {
        this.events.off('line', onLine)
        this.events.off('close', done)
        signal.removeEventListener('abort', done)
        resolve()
      }
      this.events.on('line', onLine)
      this.events.on('close', done)
      signal.addEventListener('abort', done)
    })
    return cut
  }
}
