// SPDY/3.1 framing, server side, as much as kubectl port-forward (client-go spdystream) uses:
// SYN_STREAM/SYN_REPLY/DATA/RST_STREAM/SETTINGS/PING/GOAWAY/WINDOW_UPDATE/HEADERS.
// Header blocks from the client are zlib with the SPDY/3 dictionary, one stream per direction;
// ours are written as uncompressed ("stored") deflate blocks in one continuous zlib stream,
// which any zlib reader accepts. spdystream does no flow control, so neither do we.
import {createRequire} from 'node:module'
import {constants, inflateSync} from 'node:zlib'

const require = createRequire(import.meta.url)
const DICTIONARY: Buffer = require('spdy-transport/lib/spdy-transport/protocol/spdy/dictionary.js')[3]

export const SYN_STREAM = 1
export const SYN_REPLY = 2
export const RST_STREAM = 3
export const SETTINGS = 4
export const PING = 6
export const GOAWAY = 7
export const HEADERS = 8
export const WINDOW_UPDATE = 9
export const FLAG_FIN = 0x01

export type Frame =
  | {control: true; type: number; flags: number; payload: Buffer}
  | {control: false; streamId: number; flags: number; data: Buffer}

/** Splits a byte stream into SPDY frames. */
export class FrameParser {
  private buf: Buffer = Buffer.alloc(0)

  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk
    const frames: Frame[] = []
    while (this.buf.length >= 8) {
      const len = this.buf.readUIntBE(5, 3)
      if (this.buf.length < 8 + len) break
      const flags = this.buf[4]
      const body = this.buf.subarray(8, 8 + len)
      if (this.buf[0] & 0x80) frames.push({control: true, type: this.buf.readUInt16BE(2), flags, payload: body})
      else frames.push({control: false, streamId: this.buf.readUInt32BE(0) & 0x7fffffff, flags, data: body})
      this.buf = this.buf.subarray(8 + len)
    }
    return frames
  }
}

/** Decompresses the client's header blocks (one zlib stream with the dictionary across the session). */
export class HeaderDecoder {
  private input: Buffer[] = []
  private produced = 0

  decode(block: Buffer): Record<string, string> {
    this.input.push(block)
    // Re-inflating the (small) history keeps this synchronous; header blocks are a few dozen bytes.
    const all = inflateSync(Buffer.concat(this.input), {dictionary: DICTIONARY, finishFlush: constants.Z_SYNC_FLUSH})
    const out = all.subarray(this.produced)
    this.produced = all.length
    const headers: Record<string, string> = {}
    let pos = 4
    const n = out.readUInt32BE(0)
    for (let i = 0; i < n; i++) {
      const kl = out.readUInt32BE(pos)
      const k = out.subarray(pos + 4, pos + 4 + kl).toString('utf8')
      pos += 4 + kl
      const vl = out.readUInt32BE(pos)
      headers[k.toLowerCase()] = out.subarray(pos + 4, pos + 4 + vl).toString('utf8')
      pos += 4 + vl
    }
    return headers
  }
}

/** Writes header blocks as stored deflate blocks, each ending with a sync-flush marker. */
export class HeaderEncoder {
  private started = false

  encode(headers: Record<string, string>): Buffer {
    const parts: Buffer[] = []
    const u32 = (n: number) => {
      const b = Buffer.alloc(4)
      b.writeUInt32BE(n)
      return b
    }
    const entries = Object.entries(headers)
    parts.push(u32(entries.length))
    for (const [k, v] of entries) {
      const kb = Buffer.from(k.toLowerCase())
      const vb = Buffer.from(v)
      parts.push(u32(kb.length), kb, u32(vb.length), vb)
    }
    const raw = Buffer.concat(parts)
    const stored = Buffer.alloc(5)
    stored[0] = 0x00 // BFINAL=0, BTYPE=00 (stored)
    stored.writeUInt16LE(raw.length, 1)
    stored.writeUInt16LE(~raw.length & 0xffff, 3)
    const prefix = this.started ? Buffer.alloc(0) : Buffer.from([0x78, 0x01])
    this.started = true
    return Buffer.concat([prefix, stored, raw, Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff])])
  }
}

export function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8)
  h.writeUInt16BE(0x8003, 0)
  h.writeUInt16BE(type, 2)
  h[4] = flags
  h.writeUIntBE(payload.length, 5, 3)
  return Buffer.concat([h, payload])
}

export function dataFrame(streamId: number, flags: number, data: Buffer): Buffer {
  const h = Buffer.alloc(8)
  h.writeUInt32BE(streamId & 0x7fffffff, 0)
  h[4] = flags
  h.writeUIntBE(data.length, 5, 3)
  return Buffer.concat([h, data])
}

export const u32pair = (a: number, b: number): Buffer => {
  const p = Buffer.alloc(8)
  p.writeUInt32BE(a >>> 0, 0)
  p.writeUInt32BE(b >>> 0, 4)
  return p
}
