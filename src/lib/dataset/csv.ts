// Streaming CSV reader: one pass over the file in fixed-size chunks, never holding more than one
// chunk plus the row being parsed. It validates the encoding (UTF-8, no NUL) while it parses, so
// preflight reads each CSV exactly once however many checks run on it.
import {open} from 'node:fs/promises'

const CHUNK = 1 << 20

export interface CsvScanHandlers {
  /** Called once with the header (BOM stripped, names trimmed). */
  onHeader?: (header: string[]) => void
  /** Called per data row (blank lines skipped, like pandas and Go's encoding/csv). `line` is 1-based, header = 1. */
  onRow?: (fields: string[], dataRow: number, line: number) => void
  onProgress?: (bytes: number) => void
}

export interface CsvScanResult {
  bom: boolean
  header: string[] | null
  rawHeader: string[] | null
  rows: number
  bytes: number
  /** Byte offset of the first invalid UTF-8 sequence, if any. */
  invalidUtf8At?: number
  /** Byte offset of the first NUL byte, if any. */
  nulAt?: number
  /** Rows with more fields than the header (pandas on_bad_lines="error" rejects them): [line, fieldCount]. */
  wideRows: Array<[number, number]>
  wideRowCount: number
  /** A quoted field was still open at end of file. */
  unterminatedQuote: boolean
}

/** Byte offset of the first invalid UTF-8 sequence in buf, or -1. */
function firstInvalidUtf8(buf: Uint8Array): number {
  let i = 0
  while (i < buf.length) {
    const b = buf[i]!
    if (b < 0x80) { i++; continue }
    const n = b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : 0
    if (n === 0) return i
    const min = n === 1 ? 0x80 : n === 2 ? 0x800 : 0x10000
    let cp = b & (0x3f >> n)
    for (let k = 1; k <= n; k++) {
      const c = buf[i + k]
      if (c === undefined || (c & 0xc0) !== 0x80) return i
      cp = (cp << 6) | (c & 0x3f)
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i
    i += n + 1
  }
  return -1
}

/**
 * Scan a CSV once. Stops parsing (but reports) at the first encoding problem, because every later
 * check would be reading garbage. Quoting follows RFC 4180 ("" escapes a quote; CRLF or LF ends a row).
 */
export async function scanCsv(file: string, h: CsvScanHandlers = {}): Promise<CsvScanResult> {
  const fh = await open(file, 'r')
  const res: CsvScanResult = {bom: false, header: null, rawHeader: null, rows: 0, bytes: 0, wideRows: [], wideRowCount: 0, unterminatedQuote: false}
  const decoder = new TextDecoder('utf-8', {fatal: true, ignoreBOM: true})
  const buf = Buffer.allocUnsafe(CHUNK)
  // parser state, carried across chunks
  let fields: string[] = []
  let partial = ''
  let state = 0 // 0 field start, 1 unquoted, 2 quoted, 3 quote seen inside quoted
  let line = 1
  let rowStartLine = 1
  let headerLen = -1
  let first = true
  let pos = 0
  let stop = false
  let lastProgress = 0

  const endRow = (): void => {
    // a blank line is a single empty unquoted field: skip it
    if (fields.length === 1 && fields[0] === '' && !quotedRow) { fields = []; return }
    if (headerLen < 0) {
      res.rawHeader = fields
      res.header = fields.map((f) => f.trim())
      headerLen = fields.length
      h.onHeader?.(res.header)
    } else {
      res.rows++
      if (fields.length > headerLen) {
        res.wideRowCount++
        if (res.wideRows.length < 5) res.wideRows.push([rowStartLine, fields.length])
      }
      h.onRow?.(fields, res.rows, rowStartLine)
    }
    fields = []
  }
  let quotedRow = false

  // Hot loop: parser state lives in locals for the duration of a chunk (closure variables would be
  // context loads/stores on every character), and delimiters are found with indexOf (native scans).
  // Rows without quotes take a split(',') fast path.
  const parse = (s: string): void => {
    const n = s.length
    let st = state
    let part = partial
    let i = 0
    let nextNl = -2
    let nextComma = -2
    let nextQuote = -2
    const nl = (from: number): number => {
      if (nextNl !== -1 && nextNl < from) nextNl = s.indexOf('\n', from)
      return nextNl
    }
    const comma = (from: number): number => {
      if (nextComma !== -1 && nextComma < from) nextComma = s.indexOf(',', from)
      return nextComma
    }
    const quoteAt = (from: number): number => {
      if (nextQuote !== -1 && nextQuote < from) nextQuote = s.indexOf('"', from)
      return nextQuote
    }
    while (i < n) {
      if (st === 0) {
        if (fields.length === 0) {
          rowStartLine = line
          quotedRow = false
          // fast path: a whole unquoted row inside this chunk
          const e = nl(i)
          if (e >= 0) {
            const q = quoteAt(i)
            if (q < 0 || q > e) {
              let row = s.slice(i, e)
              if (row.endsWith('\r')) row = row.slice(0, -1)
              fields = row.split(',')
              endRow()
              line++
              i = e + 1
              continue
            }
          }
        }
        if (s.charCodeAt(i) === 34) { st = 2; quotedRow = true; i++; part = ''; continue }
        st = 1
        part = ''
      }
      if (st === 1) {
        const c1 = comma(i)
        const n1 = nl(i)
        const j = c1 < 0 ? n1 : n1 < 0 ? c1 : Math.min(c1, n1)
        if (j < 0) { part += s.slice(i, n); break }
        let v = part + s.slice(i, j)
        part = ''
        st = 0
        i = j + 1
        if (j === n1) {
          if (v.endsWith('\r')) v = v.slice(0, -1)
          fields.push(v); endRow(); line++
        } else {
          // after a comma, state 0 turns a following newline or EOF into an empty last field
          fields.push(v)
        }
        continue
      }
      if (st === 2) {
        const q = quoteAt(i)
        const end = q < 0 ? n : q
        for (let k = nl(i); k >= 0 && k < end; k = nl(k + 1)) line++
        part += s.slice(i, end)
        if (q < 0) break
        st = 3
        i = q + 1
        continue
      }
      // st 3: just saw a quote inside a quoted field
      const c = s.charCodeAt(i)
      if (c === 34) { part += '"'; st = 2; i++; continue }
      if (c === 44) { fields.push(part); part = ''; st = 0; i++; continue }
      if (c === 10) { fields.push(part); part = ''; endRow(); line++; st = 0; i++; continue }
      if (c === 13) { i++; continue }
      // text after a closing quote: keep it (lenient, like pandas)
      part += s[i]
      i++
    }
    state = st
    partial = part
  }

  try {
    for (;;) {
      const {bytesRead} = await fh.read(buf, 0, CHUNK, pos)
      if (bytesRead === 0) break
      let view = buf.subarray(0, bytesRead)
      if (first) {
        first = false
        if (view.length >= 3 && view[0] === 0xef && view[1] === 0xbb && view[2] === 0xbf) { res.bom = true; view = view.subarray(3) }
      }
      const nul = view.indexOf(0)
      if (nul >= 0) { res.nulAt = pos + (bytesRead - view.length) + nul; stop = true }
      let text: string
      try {
        text = decoder.decode(view, {stream: true})
      } catch {
        const at = firstInvalidUtf8(view)
        res.invalidUtf8At = pos + (bytesRead - view.length) + Math.max(0, at)
        stop = true
        text = ''
      }
      pos += bytesRead
      if (stop) break
      parse(text)
      if (h.onProgress && pos - lastProgress >= 64 * CHUNK) { lastProgress = pos; h.onProgress(pos) }
    }
    if (!stop) {
      try {
        parse(decoder.decode())
      } catch {
        res.invalidUtf8At = pos
        stop = true
      }
    }
    if (!stop) {
      if (state === 2) { res.unterminatedQuote = true }
      if (state === 1) { fields.push(partial); partial = ''; endRow() } else if (state === 3) { fields.push(partial); endRow() } else if (fields.length > 0) { fields.push(''); endRow() }
    }
    res.bytes = pos
    h.onProgress?.(pos)
    return res
  } finally {
    await fh.close()
  }
}
