// The staging step's options, results, tunables and on-PVC names, shared by its modules (stream.ts runs
// the step; stager.ts holds the exec session; batch.ts and large-file.ts send files).
import type {ClusterTarget} from '../cluster/kube.js'
import type {StagingPaths} from '../pvc/paths.js'
import type {HashCache} from './hash-cache.js'
import {BatchLimits, HashedEntry, VERIFIED_NAME} from './manifest.js'
import type {HashAlgo} from './pod-hash.js'
import type {TarEntry} from './tar.js'

// the on-PVC paths live with every other client-pvc path
export {RESUME_SUFFIX, STAGING_ROOT, stagingPaths, type StagingPaths} from '../pvc/paths.js'
export const VERIFIED_DIR = `${VERIFIED_NAME}.d`
/** In the work dir: one record per range of a large file that landed (`<md5 or sha256> <offset> <length> <size> <name>`), so a later run can resume inside the file. */
export const RANGES_DIR = '.tb-ranges'

export interface StageProgress {
  phase: 'hashing' | 'copying' | 'verifying'
  /** File bytes (not tar bytes) transferred or in flight, against `totalBytes` to send. */
  bytes: number
  totalBytes: number
  /** Files verified in the pod (they count as staged). */
  files: number
  /** Files whose bytes have all left this machine (verified or still being checked), ≥ `files`. */
  sentFiles: number
  totalFiles: number
  skippedFiles: number
  skippedBytes: number
  bytesPerSecond: number
  etaSeconds?: number
  retries: number
}

export type CompressMode = 'auto' | 'on' | 'off'

export interface StreamOptions {
  t: ClusterTarget
  namespace: string
  pod: string
  table: string
  /** The plan's files with what preflight saw of each (size, mtime, device, inode): staging checks each file it opens against it. */
  entries: TarEntry[]
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

export const DEFAULT_PARALLEL = 2
export const DEFAULT_BATCH: BatchLimits = {bytes: 32 << 20, files: 2000}
/**
 * Tar batch size for this many bytes of small files: an eighth of them within 8 MiB–DEFAULT_BATCH.bytes, so
 * that a small dataset still spreads over several streams (a batch holds one stream for all its bytes) while
 * each batch's exec start-up and in-pod check stay small against its bytes.
 */
export function defaultBatchBytes(smallBytes: number): number {
  return Math.min(DEFAULT_BATCH.bytes, Math.max(8 << 20, Math.ceil(smallBytes / 8)))
}

/** A file at least this large travels alone, without tar, in ranges (large-file.ts). */
export const STREAM_HASH_MIN_BYTES = 8 << 20
/** Large files travel in ranges of this size, one exec each (a cut re-sends one range). */
export const RANGE_BYTES = 128 << 20
/** Under --compress auto, text smaller than this in total rides uncompressed with the other files. */
export const COMPRESS_MIN_BYTES = 4 << 20
/** --compress auto judges the link once this many plain bytes were delivered (until then: plain). */
export const COMPRESS_JUDGE_BYTES = 4 << 20
/**
 * Under --compress auto, text files are gzipped only when the plain batches sent before them were delivered
 * slower than this per stream (bytes over the summed time each plain batch was under way). gzip costs CPU on
 * both ends (on the sandbox a gzipped CSV went through at ~43 MiB/s where a plain stream ran at ~65 MiB/s:
 * docs/benchmarks.md), so it only pays where the link, not the CPU, is the limit.
 */
export const COMPRESS_BELOW_BYTES_PER_SECOND = 10 << 20

export interface Batch {
  id: string
  files: HashedEntry[]
  bytes: number
  compress: boolean
  tries: number
}
