// Pieces every send uses: both hashes of a file from one read, the meter that books stdin bytes, gzip.
import {createHash} from 'node:crypto'
import {pipeline, Readable} from 'node:stream'
import {createGzip} from 'node:zlib'

import {StreamResult} from './options.js'

/**
 * Both hashes of one file, from the same reads: sha256 is its identity (manifest, cache, incremental
 * re-push), md5 is what the pod checks the received bytes against. busybox has no SHA-NI code, so its
 * sha256sum costs ~6.7 ms of pod CPU per MiB against md5sum's ~2.5; md5 is not collision-resistant against
 * a crafted input, but the only party choosing the bytes is the user, and against transfer damage it is
 * as good a check. The client pays ~1.8 ms/MiB more (OpenSSL), the pod ~4 ms/MiB less.
 */
export class FileHashes {
  readonly sha256 = createHash('sha256')
  readonly md5 = createHash('md5')
  update(chunk: Buffer): void {
    this.sha256.update(chunk)
    this.md5.update(chunk)
  }
}

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
