// `--bwlimit`: one token bucket shared by every stream a push sends on, so the cap holds for all of them
// together. It is a virtual-time bucket: each request books the next `n / rate` seconds of the link and is
// let through once that booking is less than `burst` bytes ahead of now. Bookings are made in call order,
// so streams asking in turn get equal shares; a stream whose far side is slow asks less often and leaves
// its share to the others. Over any span of t seconds it lets through at most burst + rate × t bytes.
import type {Readable} from 'node:stream'

/**
 * How far (in seconds of the cap) the bucket lets traffic run ahead of an even pace. A timer that fires
 * late on a busy machine, or a stream pausing between execs, forfeits link time only beyond this; it
 * adds at most this much to any span (0.25 s on a 10 s push: 2.5 %).
 */
export const BURST_SECONDS = 0.25

export interface BucketClock {
  now: () => number
  sleep: (ms: number) => Promise<void>
}

const realClock: BucketClock = {now: () => performance.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms))}

export class TokenBucket {
  /** Bytes let through so far (the stream governor reads the aggregate rate from it). */
  granted = 0
  /** Largest piece one request takes: small enough that streams interleave finely at low caps. */
  readonly quantum: number
  private readonly burstMs: number
  /** The time (ms) up to which the link is booked. */
  private booked: number
  private readonly clock: BucketClock

  constructor(
    readonly bytesPerSecond: number,
    o: {burstBytes?: number; clock?: BucketClock} = {},
  ) {
    this.clock = o.clock ?? realClock
    this.quantum = Math.max(1024, Math.min(64 << 10, Math.floor(bytesPerSecond / 32)))
    const burst = o.burstBytes ?? Math.max(this.quantum, bytesPerSecond * BURST_SECONDS)
    this.burstMs = (burst / bytesPerSecond) * 1000
    this.booked = this.clock.now()
  }

  /** Wait until `n` bytes may go. */
  async take(n: number): Promise<void> {
    const now = this.clock.now()
    this.booked = Math.max(this.booked, now) + (n / this.bytesPerSecond) * 1000
    const wait = this.booked - this.burstMs - now
    if (wait > 0) await this.clock.sleep(wait)
    this.granted += n
  }
}

/** `source` let through `bucket` in pieces of at most its quantum (empty chunks, flush requests, pass at once). */
export async function* throttled(source: AsyncIterable<Buffer>, bucket: TokenBucket): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    if (chunk.length === 0) {
      yield chunk
      continue
    }
    for (let off = 0; off < chunk.length; off += bucket.quantum) {
      const piece = chunk.subarray(off, Math.min(chunk.length, off + bucket.quantum))
      await bucket.take(piece.length)
      yield piece
    }
  }
}

/** An exec's stdin as it goes out: through the bucket when the push has a cap. */
export function stdinUnderCap(stdin: Readable | AsyncIterable<Buffer> | undefined, bucket: TokenBucket | undefined): Readable | AsyncIterable<Buffer> | undefined {
  return stdin && bucket ? throttled(stdin as AsyncIterable<Buffer>, bucket) : stdin
}
