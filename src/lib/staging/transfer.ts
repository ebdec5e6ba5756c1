// Pieces every send uses: a file's hashes from one read, the meter that books stdin bytes, gzip.
import {createHash, type Hash} from 'node:crypto'
import {pipeline, Readable} from 'node:stream'
import {createGzip} from 'node:zlib'

import type {StreamResult} from './types.js'
import type {HashAlgo} from './pod-hash.js'

/**
 * A file's hashes from the same reads: sha256 is its identity (manifest, cache, incremental re-push) and,
 * on a pod with fast sha256, also what the pod checks; md5 only for a pod that checks md5 (pod-hash.ts).
 */
export class FileHashes {
  readonly sha256 = createHash('sha256')
  readonly md5?: Hash
  constructor(check: HashAlgo) {
    if (check === 'md5') this.md5 = createHash('md5')
  }

  update(chunk: Buffer): void {
    this.sha256.update(chunk)
    this.md5?.update(chunk)
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
