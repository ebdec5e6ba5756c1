// What goes down an exec's stdin: the meter that books its bytes, and gzip.
import {pipeline, Readable} from 'node:stream'
import {createGzip} from 'node:zlib'

import type {StreamResult} from './types.js'

/**
 * Books one batch's stdin into the run's figures: file bytes read and bytes on the exec stream. A retried
 * attempt starts a fresh count, and what the cut attempt sent is still booked (it did cross the wire).
 */
export class StdinMeter {
  private fileBytes = 0
  private wireBytes = 0
  constructor(
    private readonly result: StreamResult,
    private readonly onBytes: (fileBytes: number) => void,
  ) {}

  file(n: number): void {
    this.fileBytes += n
    this.onBytes(this.fileBytes)
  }

  wire(n: number): void {
    this.wireBytes = n
  }

  /** Book what was counted so far and start again (before a retry, and once the exec is done). */
  restart(): void {
    this.result.sentBytes += this.fileBytes
    this.result.wireBytes += this.wireBytes
    this.fileBytes = 0
    this.wireBytes = 0
  }
}

/** Level-1 gzip (text shrinks ~4× at a small CPU cost), in 256 KiB pieces rather than zlib's 16 KiB. */
export function gzipped(gen: AsyncIterable<Buffer>): Readable {
  const gz = createGzip({level: 1, chunkSize: 256 << 10})
  pipeline(Readable.from(gen), gz, () => undefined) // an error (file changed, abort) destroys gz → the exec fails
  return gz
}
