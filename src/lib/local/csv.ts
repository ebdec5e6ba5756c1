// Streaming CSV reader working on bytes: one pass over the file in 1 MiB reads (the next one in flight
// while the current one is parsed), never holding more than the read buffers plus the row being parsed. Rows are handed out as views of field offsets into
// that buffer, so a check pays for a JS string only for the cells it reads (CSVs with millions of
// rows and a handful of checked columns would otherwise spend their time building strings nobody
// looks at). Encoding (UTF-8, no NUL) is validated natively on the same bytes, so preflight reads each
// CSV exactly once however many checks run on it.
import {isUtf8} from 'node:buffer'
import {open} from 'node:fs/promises'

import {CliError, ExitCode} from '../output/errors.js'
import {signalPointNow} from '../process/signals.js'

const CHUNK = 1 << 20
const READS_IN_FLIGHT = 4
const QUOTE = 34
const COMMA = 44
const LF = 10
const CR = 13
const CACHE = 4096
/** The longest row the reader holds in memory (a row is parsed whole). */
export const MAX_ROW_BYTES = 16 << 20

/** Read access to the cells of one row. */
export interface Cells {
  readonly length: number
  /** The cell's text ('' past the end of the row), unquoted and with "" unescaped. */
  cell(i: number): string
  /**
   * What the raw, unquoted cell looks like, without building a string: 1 = [+-]?[0-9]+, 2 = another
   * match of the numeric pattern (decimals, exponents), 0 = anything else — ask `cell` for the text.
   */
  numberShape(i: number): 0 | 1 | 2
}

/** A parsed row: valid only during the onRow call (the buffer behind it is reused). */
export interface CsvRow extends Cells {
  /** Every cell as a string (for rows kept past the callback). */
  cells(): string[]
}

/** Cells backed by strings (rows kept for schema inference). */
export class ArrayCells implements Cells {
  constructor(readonly fields: readonly string[]) {}
  get length(): number {
    return this.fields.length
  }

  cell(i: number): string {
    return this.fields[i] ?? ''
  }

  numberShape(): 0 {
    return 0
  }
}

/**
 * Part of a file to scan (parallel preflight): parsing starts at `start`, which must be a row start,
 * and stops before the first row starting at or after `end`, or once `maxRows` data rows were seen.
 * With `headerLen` the range has no header row (it continues a file whose header had that many fields).
 */
export interface CsvRange {
  start: number
  end?: number
  maxRows?: number
  headerLen?: number
  /** Line number of the row at `start` (1 = the first line of the file). */
  line?: number
}

export interface CsvScanHandlers {
  /** Called once with the header (BOM stripped, names trimmed). */
  onHeader?: (header: string[]) => void
  /** Called per data row (blank lines skipped, like pandas and Go's encoding/csv). `line` is 1-based, header = 1. */
  onRow?: (row: CsvRow, dataRow: number, line: number) => void
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
  /** File offset where parsing stopped: the start of the first row not parsed (the file size at EOF). */
  end: number
  /** Line number the next row would have had. */
  nextLine: number
}

/** Byte offset of the first invalid UTF-8 sequence in buf, or -1. */
export function firstInvalidUtf8(buf: Uint8Array): number {
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
 * Where a multi-byte sequence cut off by the end of `b[from, end)` starts (it is completed by the next
 * read), or `end` when the range ends on a sequence boundary.
 */
function completeEnd(b: Uint8Array, from: number, end: number): number {
  let k = end - 1
  let cont = 0
  while (k >= from && cont < 3 && (b[k]! & 0xc0) === 0x80) { k--; cont++ }
  if (k < from) return end
  const lead = b[k]!
  const need = lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : lead >= 0xc0 ? 1 : 0
  return need > cont ? k : end
}

/** The row view handed to onRow: field [start, end) offsets into the read buffer (~start for a quoted field). */
class RowView implements CsvRow {
  buf: Buffer = Buffer.alloc(0)
  starts = new Int32Array(64)
  ends = new Int32Array(64)
  length = 0

  grow(): void {
    const n = this.starts.length * 2
    const s = new Int32Array(n); s.set(this.starts); this.starts = s
    const e = new Int32Array(n); e.set(this.ends); this.ends = e
  }

  cell(i: number): string {
    if (i >= this.length) return ''
    let s = this.starts[i]!
    const e = this.ends[i]!
    if (s >= 0) return e - s <= 32 ? this.short(s, e) : this.buf.toString('utf8', s, e)
    s = ~s
    // "…" with no quote inside: the common case
    if (e - s >= 2 && this.buf[e - 1] === QUOTE && this.buf.indexOf(QUOTE, s + 1) === e - 1) return this.buf.toString('utf8', s + 1, e - 1)
    return unquote(this.buf, s, e)
  }

  /**
   * Short ASCII cells (labels, ids, categories) come from a small cache of recently decoded strings:
   * decoding one costs more than hashing and comparing its bytes, and such columns repeat values.
   */
  private short(s: number, e: number): string {
    const b = this.buf
    let h = 0x811c9dc5 | 0
    let high = 0
    for (let p = s; p < e; p++) {
      const c = b[p]!
      high |= c
      h = Math.imul(h ^ c, 0x01000193)
    }
    if (high >= 0x80) return b.toString('utf8', s, e)
    const hit = this.cache[h & (CACHE - 1)]
    if (hit !== undefined && hit.length === e - s) {
      let k = 0
      while (k < hit.length && hit.charCodeAt(k) === b[s + k]) k++
      if (k === hit.length) return hit
    }
    const v = b.toString('latin1', s, e)
    this.cache[h & (CACHE - 1)] = v
    return v
  }


  private readonly cache = new Array<string | undefined>(CACHE)

  cells(): string[] {
    const out = new Array<string>(this.length)
    for (let i = 0; i < this.length; i++) out[i] = this.cell(i)
    return out
  }

  numberShape(i: number): 0 | 1 | 2 {
    if (i >= this.length) return 0
    let p = this.starts[i]!
    if (p < 0) return 0 // quoted: the string rules decide
    const e = this.ends[i]!
    // b[e] is the comma, CR or LF (or parse's LF sentinel) that ended the field: never a digit, so the
    // loops below stop at the end of the cell without testing p < e
    const b = this.buf
    let c = b[p]!
    if (c === 43 || c === 45) c = b[++p]!
    const d0 = p
    while (c >= 48 && c <= 57) c = b[++p]!
    if (p === e) return p > d0 ? 1 : 0
    let digits = p - d0
    if (c === 46) {
      c = b[++p]!
      const f0 = p
      while (c >= 48 && c <= 57) c = b[++p]!
      digits += p - f0
    }
    if (digits === 0) return 0
    if (p < e && (c === 101 || c === 69)) {
      c = b[++p]!
      if (p < e && (c === 43 || c === 45)) c = b[++p]!
      const x0 = p
      while (c >= 48 && c <= 57) c = b[++p]!
      if (p === x0) return 0
    }
    return p === e ? 2 : 0
  }
}

/**
 * The text of a quoted field spanning [s, e) (s is the opening quote): "" is a quote, a CR after the
 * closing quote is dropped, and text after the closing quote is kept (lenient, like pandas).
 */
function unquote(b: Buffer, s: number, e: number): string {
  const out = Buffer.allocUnsafe(e - s)
  let n = 0
  let inside = true
  for (let p = s + 1; p < e; p++) {
    const c = b[p]!
    if (inside) {
      if (c === QUOTE) inside = false
      else out[n++] = c
    } else if (c === QUOTE) { out[n++] = QUOTE; inside = true } else if (c !== CR) out[n++] = c
  }
  return out.toString('utf8', 0, n)
}

/**
 * Scan a CSV once. Stops parsing (but reports) at the first encoding problem, because every later
 * check would be reading garbage. Quoting follows RFC 4180 ("" escapes a quote; CRLF or LF ends a
 * row); quotes are special only at the start of a field.
 */
export async function scanCsv(file: string, h: CsvScanHandlers = {}, range: CsvRange = {start: 0}): Promise<CsvScanResult> {
  const fh = await open(file, 'r')
  const res: CsvScanResult = {bom: false, header: null, rawHeader: null, rows: 0, bytes: 0, wideRows: [], wideRowCount: 0, unterminatedQuote: false, end: 0, nextLine: 0}
  const row = new RowView()
  let headerLen = range.headerLen ?? -1
  let line = range.line ?? 1
  const endAt = range.end ?? Infinity
  const maxRows = range.maxRows ?? Infinity
  let stopped = false // the range's end or maxRows was reached before EOF

  const emit = (rowLine: number): void => {
    if (row.length === 1 && row.starts[0] === row.ends[0]) return // blank line
    if (headerLen < 0) {
      res.rawHeader = row.cells()
      res.header = res.rawHeader.map((f) => f.trim())
      headerLen = row.length
      h.onHeader?.(res.header)
      return
    }
    res.rows++
    if (row.length > headerLen) {
      res.wideRowCount++
      if (res.wideRows.length < 5) res.wideRows.push([rowLine, row.length])
    }
    h.onRow?.(row, res.rows, rowLine)
  }

  /**
   * Parse the complete rows of b[from, n) (every row when eof) and return where the first incomplete
   * row starts. An incomplete row is parsed again from its start once more bytes are in: rows are
   * short, and the buffer doubles for long ones, so re-parsing costs O(row) overall.
   * b[n] must be writable: an LF sentinel there ends the unquoted-field loop without a bounds test.
   */
  const parse = (b: Buffer, from: number, n: number, eof: boolean): number => {
    row.buf = b
    b[n] = LF
    let i = from
    // rows starting at or after `limit` belong to the next range
    const limit = Math.min(n, endAt - (pos - have))
    let starts = row.starts
    let ends = row.ends
    while (i < n) {
      if (i >= limit) { stopped = true; return i }
      let p = i
      let nf = 0
      let lfs = 0 // newlines inside quoted fields
      let next = -1 // start of the next row; -1 while this one is incomplete
      for (;;) {
        if (nf === starts.length) { row.grow(); starts = row.starts; ends = row.ends }
        let c = b[p]!
        if (c === QUOTE) {
          let q = p + 1
          let inside = true
          for (; q < n; q++) {
            c = b[q]!
            if (inside) {
              if (c === QUOTE) inside = false
              else if (c === LF) lfs++
            } else if (c === QUOTE) inside = true
            else if (c === COMMA || c === LF) break
          }
          if (q >= n) {
            if (!eof) break
            if (inside) { res.unterminatedQuote = true; return n }
            starts[nf] = ~p; ends[nf] = n; nf++
            next = n
            break
          }
          starts[nf] = ~p; ends[nf] = q; nf++ // ~start marks a quoted field
          if (c === LF) { next = q + 1; break }
          p = q + 1
          continue
        }
        let q = p
        while (c !== COMMA && c !== LF) c = b[++q]!
        if (q >= n) {
          // the sentinel: the row is incomplete, or at EOF the last line has no newline
          if (!eof) break
          // kept as is (a trailing CR included); a comma as the last byte ends the row with an empty field
          starts[nf] = p; ends[nf] = n; nf++
          next = n
          break
        }
        if (c === LF) {
          starts[nf] = p; ends[nf] = q > p && b[q - 1] === CR ? q - 1 : q; nf++
          next = q + 1
          break
        }
        starts[nf] = p; ends[nf] = q; nf++
        p = q + 1
      }
      if (next < 0) return i
      row.length = nf
      emit(line)
      line += lfs + 1
      i = next
      if (res.rows >= maxRows) { stopped = i < n || !eof; return i }
    }
    return i
  }

  // a short range (tests force tiny ones) reads little past its end; a file or large range reads 1 MiB
  const chunk = range.end === undefined ? CHUNK : Math.min(CHUNK, Math.max(1 << 14, range.end - range.start))
  let buf = Buffer.allocUnsafe(2 * chunk)
  let have = 0 // bytes in buf: the carried incomplete row, then what was just read
  let start = 0 // where parsing resumes in buf
  let unchecked = 0 // bytes of buf from here on are not yet UTF-8-validated
  let pos = range.start // file offset of the next read
  let lastProgress = 0
  let stop = false
  const abs = (k: number): number => pos - have + k
  // Read-ahead: READS_IN_FLIGHT reads of the next chunks run while this one is parsed, each into its
  // own buffer, copied in behind the carried row. One read at a time kept a cold disk at ~80 MB/s
  // (each 1 MiB read waited for the parse of the last one); four keep it streaming.
  const inflight: Array<{b: Buffer; read: Promise<{bytesRead: number}>}> = []
  const spare: Buffer[] = []
  let readPos = pos // file offset of the next read to issue
  const issue = (): void => {
    const b = spare.pop() ?? Buffer.allocUnsafe(chunk)
    inflight.push({b, read: fh.read(b, 0, chunk, readPos)})
    readPos += chunk
  }
  const settle = async (): Promise<void> => {
    for (const r of inflight.splice(0)) await r.read.catch(() => undefined)
  }
  for (let k = 0; k < READS_IN_FLIGHT; k++) issue()
  try {
    for (;;) {
      const next = inflight.shift()!
      const {bytesRead} = await next.read
      if (bytesRead === 0) break
      if (buf.length - have <= bytesRead) { // one spare byte for parse's sentinel
        const bigger = Buffer.allocUnsafe(Math.max(2 * buf.length, have + chunk))
        buf.copy(bigger, 0, 0, have)
        buf = bigger
      }
      next.b.copy(buf, have, 0, bytesRead)
      spare.push(next.b)
      if (bytesRead < chunk) {
        // a short read (EOF, or a file that changed): the reads issued after it are at the wrong offsets
        await settle()
        readPos = pos + bytesRead
        for (let k = 0; k < READS_IN_FLIGHT; k++) issue()
      } else issue()
      let regionStart = have
      have += bytesRead
      pos += bytesRead
      if (pos === bytesRead && range.start === 0 && bytesRead >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) {
        res.bom = true
        regionStart = start = unchecked = 3
      }
      const nul = buf.subarray(regionStart, have).indexOf(0)
      if (nul >= 0) { res.nulAt = abs(regionStart + nul); stop = true }
      const okEnd = completeEnd(buf, unchecked, have)
      if (!isUtf8(buf.subarray(unchecked, okEnd))) {
        res.invalidUtf8At = abs(unchecked + Math.max(0, firstInvalidUtf8(buf.subarray(unchecked, okEnd))))
        stop = true
      }
      if (stop) break
      unchecked = okEnd
      const done = parse(buf, start, have, false)
      if (stopped) { res.end = abs(done); break }
      // move the incomplete row to the front for the next read
      buf.copy(buf, 0, done, have)
      have -= done
      if (have > MAX_ROW_BYTES) {
        // one row this long is a missing closing quote or not a CSV: stop before it takes all memory
        throw new CliError(`line ${line} of ${JSON.stringify(file.split(/[\\/]/).pop())} is longer than ${MAX_ROW_BYTES >> 20} MiB — a quote that is never closed, or not a CSV file?`, {exitCode: ExitCode.LOCAL_ENV, reason: 'csv_row_too_long', hint: 'fix the CSV (check its quotes) and run the command again; nothing was uploaded'})
      }
      unchecked -= done
      start = 0
      if (h.onProgress && pos - lastProgress >= 64 * CHUNK) { lastProgress = pos; h.onProgress(pos) }
      signalPointNow('csv-chunk')
    }
    if (!stop && !stopped && unchecked < have) { // at EOF: a sequence still cut here is truncated
      const at = firstInvalidUtf8(buf.subarray(unchecked, have))
      if (at >= 0) { res.invalidUtf8At = abs(unchecked + at); stop = true }
    }
    if (!stop && !stopped) {
      const done = parse(buf, start, have, true)
      res.end = stopped ? abs(done) : pos
    }
    res.nextLine = line
    res.bytes = pos
    h.onProgress?.(pos)
    return res
  } finally {
    // never close the descriptor under a read still in flight
    await settle()
    await fh.close()
  }
}
