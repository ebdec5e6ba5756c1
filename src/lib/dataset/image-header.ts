// Image dimensions from the file header only (JPEG SOF marker, PNG IHDR): a few small reads per
// file, never a full decode, so checking 100 000 images costs about as much as listing them.
import {open} from 'node:fs/promises'

export type ImageProbe =
  | {ok: true; width: number; height: number; format: 'jpeg' | 'png'}
  | {ok: false; reason: 'empty' | 'invalid' | 'unreadable'; detail: string}

const HEAD = 4096
const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

export async function probeImage(file: string, size?: number): Promise<ImageProbe> {
  let fh
  try {
    fh = await open(file, 'r')
  } catch (err) {
    return {ok: false, reason: 'unreadable', detail: (err as NodeJS.ErrnoException).code ?? 'unreadable'}
  }
  try {
    const total = size ?? (await fh.stat()).size
    if (total === 0) return {ok: false, reason: 'empty', detail: 'empty file, 0 bytes'}
    const head = Buffer.allocUnsafe(Math.min(HEAD, total))
    const {bytesRead} = await fh.read(head, 0, head.length, 0)
    const b = head.subarray(0, bytesRead)
    if (b.length >= 24 && PNG_SIG.every((v, i) => b[i] === v)) {
      if (b.toString('latin1', 12, 16) !== 'IHDR') return bad('PNG without an IHDR chunk')
      const width = b.readUInt32BE(16)
      const height = b.readUInt32BE(20)
      if (width === 0 || height === 0) return bad('PNG with a zero dimension')
      return {ok: true, width, height, format: 'png'}
    }
    if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
      // Walk the marker segments until a start-of-frame; EXIF/ICC segments can be large, so
      // segments beyond the first read are fetched by position.
      const small = Buffer.allocUnsafe(9)
      const at = async (p: number, n: number): Promise<Buffer | null> => {
        if (p + n <= b.length) return b.subarray(p, p + n)
        if (p + n > total) return null
        const r = await fh!.read(small, 0, n, p)
        return r.bytesRead === n ? small.subarray(0, n) : null
      }
      let p = 2
      for (let guard = 0; guard < 10_000; guard++) {
        const m = await at(p, 2)
        if (!m) return bad('JPEG ends before its frame header')
        if (m[0] !== 0xff) return bad('JPEG marker structure is broken')
        const marker = m[1]!
        if (marker === 0xff) { p += 1; continue } // fill byte
        if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { p += 2; continue }
        if (marker === 0xd9 || marker === 0xda) return bad('JPEG has no frame header before the image data')
        const seg = await at(p + 2, 2)
        if (!seg) return bad('JPEG ends inside a segment header')
        const len = seg.readUInt16BE(0)
        if (len < 2) return bad('JPEG segment length is invalid')
        const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc
        if (isSof) {
          const sof = await at(p + 4, 5)
          if (!sof) return bad('JPEG frame header is truncated')
          const height = sof.readUInt16BE(1)
          const width = sof.readUInt16BE(3)
          if (width === 0 || height === 0) return bad('JPEG with a zero dimension')
          return {ok: true, width, height, format: 'jpeg'}
        }
        p += 2 + len
      }
      return bad('JPEG has too many segments')
    }
    return bad('not a valid image (corrupt or unsupported format)')
  } catch (err) {
    return {ok: false, reason: 'unreadable', detail: (err as NodeJS.ErrnoException).code ?? String(err)}
  } finally {
    await fh.close()
  }
}

function bad(detail: string): ImageProbe {
  return {ok: false, reason: 'invalid', detail}
}
