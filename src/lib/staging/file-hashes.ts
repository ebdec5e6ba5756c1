// A file's hashes from the one read that sends it.
import {createHash, type Hash} from 'node:crypto'

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
