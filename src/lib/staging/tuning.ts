// The staging step's sizes and thresholds: streams, batches, ranges and when --compress auto gzips.
import type {BatchLimits} from './manifest.js'

export const DEFAULT_PARALLEL = 2
/**
 * At most this much per tar batch. The file cap is high enough that tiny files follow the byte rule
 * (defaultBatchBytes: a thirty-second of the push) too: every batch costs an exec and a few processes in the
 * pod, so 100 000 files of 4 KiB go in 33 batches rather than 50, and a million in 122 rather than 500.
 */
export const DEFAULT_BATCH: BatchLimits = {bytes: 32 << 20, files: 8192}
/**
 * Tar batch size for this many bytes of small files: a thirty-second of them within 2 MiB–DEFAULT_BATCH.bytes.
 * A batch is acknowledged (and verified) by the pod only when it is whole, so one batch must stay a small
 * share of the push: the verified count then keeps pace with sending, and a cut leaves at most the batches
 * in flight unverified. Above 1 GiB the batches stop growing, so exec start-up and the in-pod check stay
 * small against each batch's bytes.
 */
export function defaultBatchBytes(smallBytes: number): number {
  return Math.min(DEFAULT_BATCH.bytes, Math.max(2 << 20, Math.ceil(smallBytes / 32)))
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
