// The rate and ETA a push shows, from bytes the stage pod acknowledged (a batch counts once the pod has
// extracted and checked it), never from bytes handed to a socket: the buffers between here and the pod
// hold many MiB, so socket bytes run far ahead of a slow link. Acknowledgements come in steps (one per
// batch), so the rate is averaged over a window of several seconds, and no ETA is given until that window
// has something in it.

/** Seconds of acknowledgements the rate is averaged over. */
export const RATE_WINDOW_SECONDS = 10
/** No ETA before this many seconds of sending and at least two acknowledgements. */
export const ETA_AFTER_SECONDS = 3

export class AckedRate {
  private readonly samples: Array<{t: number; bytes: number}> = []
  private readonly start: number
  private acks = 0
  private last = 0

  /** `now` returns milliseconds; tests inject their own clock. */
  constructor(private readonly now: () => number = Date.now) {
    this.start = now()
    this.samples.push({t: this.start, bytes: 0})
  }

  /** The total acknowledged so far (never decreases). */
  ack(totalBytes: number): void {
    if (totalBytes <= this.last) return
    this.last = totalBytes
    this.acks++
    this.samples.push({t: this.now(), bytes: totalBytes})
  }

  get bytes(): number {
    return this.last
  }

  /**
   * Bytes per second from the newest acknowledgement at least RATE_WINDOW_SECONDS old (the start while
   * younger) to the latest one: whole steps over the time they took, so the rate does not sag between
   * steps. Once the wait since the latest step is longer than that span, the wait counts instead: a stall
   * brings the rate down.
   */
  bytesPerSecond(): number {
    const t = this.now()
    const from = t - RATE_WINDOW_SECONDS * 1000
    while (this.samples.length > 1 && this.samples[1].t <= from) this.samples.shift()
    const a = this.samples[0]
    const latest = this.samples.at(-1)!.t
    const secs = Math.max(latest - a.t, t - latest) / 1000
    return secs > 0 ? (this.last - a.bytes) / secs : 0
  }

  /** Seconds left for `remaining` bytes, or undefined while the rate means nothing yet. */
  etaSeconds(remaining: number): number | undefined {
    if (remaining <= 0) return 0
    if (this.acks < 2 || this.now() - this.start < ETA_AFTER_SECONDS * 1000) return undefined
    const r = this.bytesPerSecond()
    if (r <= 0) return undefined
    // counts down between steps: the time since the latest one was spent on the next
    const eta = remaining / r - (this.now() - this.samples.at(-1)!.t) / 1000
    return eta > 0 ? eta : undefined
  }
}
