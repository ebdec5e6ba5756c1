// Counting distinct CSV rows (identical rows become one record in the table) without keeping the rows:
// each row is reduced to a 64-bit hash of its cell texts, held in a flat open-addressing table of two
// Uint32Arrays (about 16 bytes a row at the table's fill). Keeping each row's text in a Set cost ~100
// bytes a row, the largest per-row part of validation at a million rows. Two different rows share a
// hash with a probability of about n²/2⁶⁵ (3·10⁻⁸ at a million rows): the count is then one low.
import type {Cells} from './csv.js'

const EMPTY_HI = 0
const EMPTY_LO = 0

export class DistinctRows {
  private hi = new Uint32Array(1 << 12)
  private lo = new Uint32Array(1 << 12)
  private used = 0

  get size(): number {
    return this.used
  }

  /** Counts the row unless an identical one (same cells, same number of cells) was added before. */
  add(row: Cells): void {
    // two independent 32-bit hashes (murmur3-style mixing, different seeds) over every cell's UTF-16
    // units, each cell followed by a separator that no cell text contains (CSV cells never hold a NUL)
    let a = 0x9747b28c | 0
    let b = 0x5bd1e995 | 0
    for (let i = 0; i < row.length; i++) {
      const s = row.cell(i)
      for (let k = 0; k < s.length; k++) {
        const c = s.charCodeAt(k)
        a = Math.imul(a ^ c, 0xcc9e2d51); a = (a << 15) | (a >>> 17)
        b = Math.imul(b ^ c, 0x1b873593); b = (b << 13) | (b >>> 19)
      }
      a = Math.imul(a ^ 0x10000, 0xcc9e2d51); a = (a << 15) | (a >>> 17) // the separator: no UTF-16 unit equals it
      b = Math.imul(b ^ 0x10000, 0x1b873593); b = (b << 13) | (b >>> 19)
    }
    this.insert(fmix(a ^ row.length) >>> 0, fmix(b ^ Math.imul(row.length, 0x85ebca6b)) >>> 0)
  }

  private insert(h: number, l: number): void {
    if (h === EMPTY_HI && l === EMPTY_LO) l = 1 // (0, 0) marks an empty slot
    const mask = this.hi.length - 1
    let i = (h ^ Math.imul(l, 0x9e3779b1)) & mask
    for (;;) {
      const sh = this.hi[i]!
      const sl = this.lo[i]!
      if (sh === EMPTY_HI && sl === EMPTY_LO) break
      if (sh === h && sl === l) return
      i = (i + 1) & mask
    }
    this.hi[i] = h
    this.lo[i] = l
    if (++this.used * 2 > this.hi.length) this.grow()
  }

  private grow(): void {
    const oldHi = this.hi
    const oldLo = this.lo
    this.hi = new Uint32Array(oldHi.length * 2)
    this.lo = new Uint32Array(oldLo.length * 2)
    this.used = 0
    for (let i = 0; i < oldHi.length; i++) if (oldHi[i] !== EMPTY_HI || oldLo[i] !== EMPTY_LO) this.insert(oldHi[i]!, oldLo[i]!)
  }
}

/** murmur3's finalizer: spreads every input bit over the whole word. */
function fmix(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return h ^ (h >>> 16)
}
