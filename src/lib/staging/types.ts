// The staging step's options and results, shared by its modules (stage-files.ts runs the step; stager.ts
// holds the exec session; batch.ts and large-file.ts send files).
import type {ClusterTarget} from '../cluster/kube.js'
import type {StagingPaths} from '../pvc/paths.js'
import type {TokenBucket} from './bandwidth.js'
import type {HashCache} from './hash-cache.js'
import type {BatchLimits, HashedEntry} from './manifest.js'
import type {HashAlgo} from './pod-hash.js'

export interface StageProgress {
  /** 'verifying': everything is sent and the pod is still checking what it received. */
  phase: 'hashing' | 'copying' | 'verifying'
  /** File bytes (not tar bytes) the pod acknowledged (extracted and checked), against `totalBytes` to send. */
  bytes: number
  totalBytes: number
  /** File bytes handed to the exec streams (ahead of `bytes` by what sits in buffers and in the pod's check). */
  sentBytes: number
  /** Files verified in the pod (they count as staged). */
  files: number
  /** Files whose bytes have all left this machine (verified or still being checked), ≥ `files`. */
  sentFiles: number
  totalFiles: number
  skippedFiles: number
  skippedBytes: number
  /** Of acknowledged bytes, averaged over a few seconds (rate.ts). */
  bytesPerSecond: number
  /** Undefined until the rate means something. */
  etaSeconds?: number
  retries: number
}

export type CompressMode = 'auto' | 'on' | 'off'

export interface StreamOptions {
  t: ClusterTarget
  namespace: string
  pod: string
  table: string
  /**
   * The plan's files with what preflight saw of each (size, mtime, device, inode): staging checks each file it
   * opens against it. Staging works on these objects (no copy per file) and records each file's `sha256` on them.
   */
  entries: HashedEntry[]
  paths: StagingPaths
  /** Make a new stage pod when the current one is gone (deleted, evicted); returns its name. */
  recreatePod?: () => Promise<string>
  parallel?: number
  compress?: CompressMode
  /** Local hash cache (default: none — every file is hashed while it is sent). */
  cache?: HashCache
  batch?: Partial<BatchLimits>
  /** A file at least this large, alone in its batch, is sent without tar, in ranges (default STREAM_HASH_MIN_BYTES). */
  streamHashMinBytes?: number
  /** Range size for large files (default: defaultRangeBytes). */
  rangeBytes?: number
  /** Consecutive ranges per exec (default: groupSize, from the measured streams). */
  rangeGroup?: number
  signal?: AbortSignal
  onProgress?: (p: StageProgress) => void
  onNote?: (line: string) => void
  /** `--bwlimit`: every exec's stdin goes through this one bucket. */
  bandwidth?: TokenBucket
  /** Attempts per batch / per step for transient failures (cut stream, 429, 5xx, pod gone). */
  attempts?: number
}

export interface StreamResult {
  files: number
  bytes: number
  skippedFiles: number
  skippedBytes: number
  /** File bytes sent over the wire, re-sends included. */
  sentBytes: number
  /** Bytes on the exec streams (tar framing, gzip). */
  wireBytes: number
  sentFiles: number
  resentFiles: number
  /** Bytes of partly sent large files that an earlier run left verified on the volume (not sent again). */
  resumedBytes: number
  /** Files an interrupted run left in the work dir that were kept (verified then, or checked by hash now): among skippedFiles. */
  keptFiles?: number
  keptBytes?: number
  batches: number
  retries: number
  parallel: number
  compressed: boolean
  /** False when the staged copy already matched the dataset (no copy, no swap). */
  swapped: boolean
  seconds: number
  protocol?: string
  /** The hash the pod checked received bytes with (chosen per pod: pod-hash.ts). */
  check?: HashAlgo
}

export interface Batch {
  id: string
  files: HashedEntry[]
  bytes: number
  compress: boolean
  tries: number
}
