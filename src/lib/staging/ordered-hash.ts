// A large file's sha256 while its ranges travel in parallel. sha256 must see the bytes in file order, but
// parallel ranges read them out of order, and buffering ranges until their turn would cost memory. So the
// reader that happens to be at the hash's position feeds it (with one stream that is every reader: each
// byte is read once), and where nobody is — a range that was read ahead, while an earlier one was still
// streaming — a catch-up reader reads the gap back from disk (the page cache, usually) and hashes it.
// Each byte is hashed once either way; the extra cost is one more read of the gaps.
import {createHash} from 'node:crypto'
import type {FileHandle} from 'node:fs/promises'

import {fileChanged, LocalIdentity} from './local-file.js'

export class OrderedSha256 {
  private readonly hash = createHash('sha256')
  /** Bytes hashed so far (the next offset the hash needs). */
  at = 0
  /** Bytes the catch-up reader read back from disk (the price of parallel ranges). */
  reread = 0
  /** Readers now streaming a range: their next offset. */
  private readonly readers = new Map<object, number>()
  /** Ranges some reader has started (the catch-up reader never reads into one nobody started). */
  private readonly started: Array<{offset: number; length: number}> = []
  private wake?: () => void
  private stopped = false
  private readonly done: Promise<void>

  /** `fh`: the file opened once for all its ranges (openLocal); `e` names it in errors. */
  constructor(
    private readonly fh: FileHandle,
    private readonly e: LocalIdentity,
    readonly size: number,
    private readonly signal?: AbortSignal,
  ) {
    this.done = this.catchUp()
    this.done.catch(() => undefined) // surfaced by digest()
  }

  /** A reader starts a range at its first offset. */
  start(reader: object, r: {offset: number; length: number}): void {
    if (!this.started.some((s) => s.offset === r.offset)) this.started.push(r)
    this.readers.set(reader, r.offset)
    this.poke()
  }

  /** Bytes a reader read at `offset`: hashed now if they continue the hash. */
  offer(reader: object | undefined, offset: number, chunk: Buffer): void {
    if (reader) this.readers.set(reader, offset + chunk.length)
    const end = offset + chunk.length
    if (offset <= this.at && end > this.at) {
      this.hash.update(offset === this.at ? chunk : chunk.subarray(this.at - offset))
      this.at = end
    }
    this.poke()
  }

  end(reader: object): void {
    this.readers.delete(reader)
    this.poke()
  }

  /** Stop the catch-up reader (the send failed). */
  stop(): void {
    this.stopped = true
    this.poke()
  }

  /** The file's sha256 once every byte was hashed (reading the last gaps back if needed). */
  async digest(): Promise<string> {
    await this.done
    return this.hash.digest('hex')
  }

  private poke(): void {
    const w = this.wake
    this.wake = undefined
    w?.()
  }

  /** Where the catch-up reader may read from `at`: up to this offset (0 = wait for a reader). */
  private gapEnd(): number {
    const here = this.started.find((s) => s.offset <= this.at && this.at < s.offset + s.length)
    if (!here) return 0 // the range at the hash's position has not started: its reader will feed the hash
    let limit = here.offset + here.length
    for (const pos of this.readers.values()) {
      if (pos === this.at) return 0 // that reader is about to feed the hash
      if (pos > this.at && pos < limit) limit = pos
    }
    return limit
  }

  private async catchUp(): Promise<void> {
    const buf = Buffer.allocUnsafe(1 << 20)
    while (this.at < this.size && !this.stopped) {
      const to = this.gapEnd()
      if (to <= this.at) {
        await new Promise<void>((resolve) => (this.wake = resolve))
        continue
      }
      // a MiB at a time, so a reader that catches up takes over again soon
      if (this.signal?.aborted) throw this.signal.reason
      const from = this.at
      const {bytesRead} = await this.fh.read(buf, 0, Math.min(to - from, buf.length), from)
      if (bytesRead === 0) throw fileChanged(this.e, `it is shorter than the ${this.size} bytes it had`)
      const before = this.at
      this.offer(undefined, from, buf.subarray(0, bytesRead))
      this.reread += this.at - before
    }
  }
}
