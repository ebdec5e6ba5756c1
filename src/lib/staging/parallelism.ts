// How many streams to run, chosen by measurement: start with a few, double while the aggregate rate grows
// in proportion (each connection is held to what its window and the link allow: a WAN), add one while it
// still grows by at least GROWTH, and go back to the best count measured and stay when it does not.
// Locally the client's CPU is the limit and more streams rarely pay; across a WAN streams add up, and
// doubling reaches the right count within a few seconds of a transfer. `--parallel N` pins the count.
// Under `--bwlimit` the cap, not the link, may be what holds the rate: a step whose aggregate (the bytes the
// shared bucket let through) is at the cap settles there, since more streams would only split the same cap.

/** A change of stream count must raise the aggregate rate by this factor to stay. */
export const GROWTH = 1.1
/** A change that gained at least this share of a linear gain (streams added × rate per stream) doubles next. */
export const LINEAR_SHARE = 0.6
/** Each step is judged over at least this long and this many bytes (a window starts after the change). */
export const WINDOW_MS = 1000
export const WINDOW_BYTES = 8 << 20
/**
 * Bytes in this long after the start and after a change do not count: streams just opened fill their
 * buffers at once (a burst the link has not carried yet), or are still opening (TLS, exec upgrade, a few
 * round trips on a WAN); either would skew the comparison of one step with the next.
 */
export const SETTLE_MS = 300
/** Streams the measured default may grow to (--parallel allows up to 16). */
export const MAX_STREAMS = 8
/** Under a cap, a step whose aggregate reached this share of it is at the cap: the count settles. */
export const AT_CAP = 0.95

/** The push's bandwidth cap as the governor sees it: the cap and the bytes let through so far (all streams). */
export interface RateCap {
  readonly bytesPerSecond: number
  readonly granted: number
}

export class StreamGovernor {
  limit: number
  /** The (limit, bytes/s) steps measured so far, for --verbose and the benchmark. */
  readonly steps: Array<{streams: number; bytesPerSecond: number}> = []
  private settled: boolean
  private best = 0
  private bestLimit = 0
  private windowStart: number
  private windowBytes = 0
  /** The bucket's count, and when it was read, at the window's start. */
  private windowGranted = 0
  private windowGrantedAt = 0

  constructor(
    o: {start: number; max: number; pinned?: number; cap?: RateCap},
    private readonly now: () => number = () => performance.now(),
  ) {
    this.settled = o.pinned !== undefined
    this.limit = o.pinned ?? Math.max(1, Math.min(o.start, o.max))
    this.max = Math.max(this.limit, o.max)
    this.cap = o.cap
    this.windowStart = now() + SETTLE_MS
    this.markGranted()
  }

  private markGranted(): void {
    this.windowGranted = this.cap?.granted ?? 0
    this.windowGrantedAt = this.now()
  }

  private readonly max: number
  private readonly cap?: RateCap

  /** The count is settled: measured (or pinned) and no longer changing. */
  get decided(): boolean {
    return this.settled
  }

  /** Bytes/s one stream carried at the best count measured (0: not measured, e.g. pinned). */
  get perStreamBytesPerSecond(): number {
    return this.bestLimit > 0 ? this.best / this.bestLimit : 0
  }

  /** File bytes that just went out on any stream; may change `limit`. */
  add(bytes: number): void {
    if (this.settled) return
    if (this.now() < this.windowStart) {
      this.markGranted()
      return
    }
    this.windowBytes += bytes
    const ms = this.now() - this.windowStart
    if (ms < WINDOW_MS || this.windowBytes < WINDOW_BYTES) return
    const rate = (this.windowBytes / ms) * 1000
    this.steps.push({streams: this.limit, bytesPerSecond: rate})
    // the wire bytes of all streams (tar framing, gzip) against the cap: at it, more streams cannot help
    if (this.cap && ((this.cap.granted - this.windowGranted) / Math.max(1, this.now() - this.windowGrantedAt)) * 1000 >= AT_CAP * this.cap.bytesPerSecond) {
      if (rate >= this.best) {
        this.best = rate
        this.bestLimit = this.limit
      }
      this.settled = true
      return
    }
    if (this.best === 0 || rate >= this.best * GROWTH) {
      // the first step doubles; later ones double only while the last change paid off nearly linearly
      const linear = this.best === 0 || rate - this.best >= LINEAR_SHARE * this.best * (this.limit / this.bestLimit - 1)
      this.best = rate
      this.bestLimit = this.limit
      if (this.limit >= this.max) this.settled = true
      else this.limit = Math.min(this.max, linear ? this.limit * 2 : this.limit + 1)
    } else {
      this.limit = this.bestLimit
      this.settled = true
    }
    this.windowStart = this.now() + SETTLE_MS
    this.windowBytes = 0
    this.markGranted()
  }
}
