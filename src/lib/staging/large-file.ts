// Files from STREAM_HASH_MIN_BYTES travel alone, without tar, in ranges written at their offset and hashed
// back in the pod; the ranges' records let a later run resume inside the file.
import {createHash, type Hash} from 'node:crypto'
import type {FileHandle} from 'node:fs/promises'

import {shQuote} from '../cluster/exec.js'
import {CliError, ExitCode} from '../output/errors.js'
import {checkReadWhole, openLocal} from './local-file.js'
import {HashedEntry, manifestLine} from './manifest.js'
import {DEFAULT_PARALLEL, RANGE_BYTES} from './tuning.js'
import type {Batch, StreamOptions, StreamResult} from './types.js'
import {RANGES_DIR, VERIFIED_DIR} from './work-dir.js'
import {remoteFailure, Stager} from './stager.js'
import {OrderedSha256} from './ordered-hash.js'
import {MAX_STREAMS, StreamGovernor} from './parallelism.js'
import {HashAlgo, hashCommand, HEX_DIGITS, PodFileDigest} from './pod-hash.js'
import {fileRange} from './tar.js'
import {gzipped, StdinMeter} from './stdin.js'

/** Bytes [offset, offset + length) of a large file. */
type Range = {offset: number; length: number}

/**
 * A large file alone in its batch goes without tar, in ranges of `rangeBytes` (one exec each): the pod
 * writes a range at its offset with dd, then hashes that range back from disk (sha256sum or md5sum, as the
 * pod was found to hash faster: pod-hash.ts) and the client compares it with its own hash of the range.
 * Several ranges stream at once, each over its own exec connection (how many: measured, parallelism.ts, or
 * --parallel), and a range gives its stream to the next as soon as its bytes are sent, so the pod hashes
 * range i while later ones stream; a cut or a failed check re-sends one range, not the file.
 * The file's sha256, recorded once every range checked: with sha256 range checks the pod computes it from
 * the confirmed ranges while later ones stream (each byte is hashed once on the client); with md5 checks the
 * client computes it in file order too (ordered-hash.ts).
 * (busybox `tee` copies in 1 KiB reads: teeing into a hash cost 6.5x the CPU of writing, then hashing.)
 */
export async function sendLargeFile(s: Stager, o: StreamOptions, b: Batch, result: StreamResult, onBytes: (fileBytes: number) => void, onSent: () => void): Promise<HashedEntry[]> {
  // opened once, checked against what preflight saw, for every range, resume check and catch-up hash
  const fh = await openLocal(b.files[0])
  try {
    return await sendOpenFile(s, o, b, result, onBytes, onSent, fh)
  } finally {
    await fh.close()
  }
}

async function sendOpenFile(s: Stager, o: StreamOptions, b: Batch, result: StreamResult, onBytes: (fileBytes: number) => void, onSent: () => void, fh: FileHandle): Promise<HashedEntry[]> {
  const e = b.files[0]
  const W = shQuote(s.o.paths.work)
  const F = shQuote(`./${e.name}`)
  const dir = e.name.includes('/') ? e.name.slice(0, e.name.lastIndexOf('/')) : undefined
  // ranges an earlier run wrote (stageFiles kept only files with records of this size); each is used only
  // if the local bytes still hash the same
  const prior = s.partial.get(e.name)
  s.partial.delete(e.name) // a later re-send of this file starts over
  const R = shQuote(`${RANGES_DIR}/${rangeKey(e.name)}`)
  await s.sh(
    [
      'set -e',
      `mkdir -p ${W}/${shQuote(VERIFIED_DIR)} ${W}/${shQuote(RANGES_DIR)}`,
      `cd ${W}`,
      'touch .',
      dir ? `mkdir -p ${shQuote(`./${dir}`)}` : '',
      // fresh: never write through a hard link into the staged copy (cp -al) — tar -x unlinks first too
      prior ? `[ -f ${F} ] || : > ${F}` : `rm -f ${F} ${R}.*; : > ${F}`,
    ]
      .filter(Boolean)
      .join('\n'),
    `preparing ${e.name}`,
  )
  const size = o.rangeBytes && o.rangeBytes > 0 ? o.rangeBytes : defaultRangeBytes(e.size)
  const ranges: Range[] = []
  for (let offset = 0; offset < e.size; offset += size) ranges.push({offset, length: Math.min(size, e.size - offset)})
  const algo = s.hash
  const hasher = algo === 'md5' ? new OrderedSha256(fh, e, e.size, o.signal) : undefined
  const podDigest = algo === 'sha256' && ranges.length > 1 ? new PodFileDigest(s, e.name, ranges) : undefined
  /** Each range's hash as the pod confirmed it. */
  const rangeHashes: Array<string | undefined> = []
  const stopHashes = () => {
    hasher?.stop()
    podDigest?.end()
  }
  // ranges in flight at once: measured (parallelism.ts) unless --parallel pins it
  const streams = new StreamGovernor({start: DEFAULT_PARALLEL, max: MAX_STREAMS, pinned: o.parallel})
  const inFlight = new Map<number, number>()
  const progress = () => {
    let n = 0
    for (const v of inFlight.values()) n += v
    onBytes(n)
  }
  const checks: Array<Promise<Array<string | undefined>>> = []
  let streaming = 0
  let failed = false
  let wake: (() => void) | undefined
  const poke = () => {
    const w = wake
    wake = undefined
    w?.()
  }
  for (let i = 0; i < ranges.length; ) {
    const r = ranges[i]
    const had = prior?.get(r.offset)
    let resumable: boolean
    try {
      resumable = had !== undefined && had.length === r.length && had.size === e.size && (await localRangeHash(fh, e, r, had.hash.length === HEX_DIGITS.sha256 ? 'sha256' : 'md5', hasher, o.signal)) === had.hash
    } catch (error) {
      // the file changed or the run was aborted: let the ranges under way settle, stop the hashes, report
      stopHashes()
      await Promise.allSettled(checks)
      throw error
    }
    if (resumable) {
      rangeHashes[i] = had!.hash
      podDigest?.confirm(i)
      result.resumedBytes += r.length
      inFlight.set(i, r.length)
      progress()
      i++
      continue
    }
    // a range holds a stream while its bytes go out; its in-pod check overlaps the next ranges
    while (streaming >= streams.limit && !failed) await new Promise<void>((resolve) => (wake = resolve))
    if (failed) break // reported below, once the ranges already under way have settled
    const n = prior || b.compress ? 1 : o.rangeGroup && o.rangeGroup > 0 ? o.rangeGroup : groupSize(ranges.length - i, size, streams)
    const first = i
    const group = ranges.slice(i, i + n)
    i += group.length
    streaming++
    result.parallel = Math.max(result.parallel, streaming)
    let released = false
    const release = () => {
      if (released) return
      released = true
      streaming--
      poke()
    }
    let counted = 0
    const check = sendRanges(s, o, b, e, group, result, {
      fh,
      algo,
      hasher,
      onBytes: (bytes) => {
        streams.add(bytes >= counted ? bytes - counted : bytes)
        counted = bytes
        if (streaming < streams.limit) poke() // the governor added a stream
        inFlight.set(first, bytes)
        progress()
      },
      onSent: release,
    })
    check.then(
      (hashes) => {
        for (const [j, hash] of hashes.entries()) {
          rangeHashes[first + j] = hash
          if (hash) podDigest?.confirm(first + j)
        }
        release()
      },
      () => {
        failed = true
        release()
      },
    )
    checks.push(check)
  }
  onSent()
  const settled = await Promise.allSettled(checks)
  const rejected = settled.find((x) => x.status === 'rejected')
  if (rejected) {
    stopHashes()
    throw (rejected as PromiseRejectedResult).reason
  }
  result.sentFiles += 1
  if (settled.some((x) => x.status === 'fulfilled' && x.value.some((hash) => !hash))) {
    stopHashes()
    return [e]
  }
  // every range came from the file preflight saw: nothing beyond its size, not written to meanwhile
  await checkReadWhole(fh, e)
  e.sha256 = hasher ? await hasher.digest() : await podSha256(s, e, ranges.length === 1 ? rangeHashes[0] : await podDigest?.digest())
  if (o.cache && e.mtimeMs !== undefined) o.cache.set(e.localPath, e.size, e.mtimeMs, e.sha256)
  const okf = shQuote(`${VERIFIED_DIR}/${b.id}`)
  await s.sh(`cd ${W} && printf '%s' ${shQuote(manifestLine(e.sha256, e.name))} > ${okf}.tmp && mv ${okf}.tmp ${okf}`, `recording ${e.name} as verified`)
  return []
}


/**
 * Consecutive ranges of a large file over one exec: each written at its offset and hashed back; returns
 * each range's hash once the pod's matched (3 tries; a range that failed its check goes again, the others
 * stay). One range on v5 ends at the stdin close; several ranges, or v4, are length-framed with dd.
 */
async function sendRanges(
  s: Stager,
  o: StreamOptions,
  b: Batch,
  e: HashedEntry,
  group: Range[],
  result: StreamResult,
  h: {fh: FileHandle; algo: HashAlgo; hasher?: OrderedSha256; onBytes: (n: number) => void; onSent: () => void},
): Promise<Array<string | undefined>> {
  const W = shQuote(s.o.paths.work)
  const F = shQuote(`./${e.name}`)
  const v5 = s.protocol === 'v5.channel.k8s.io'
  const out: Array<string | undefined> = group.map(() => undefined)
  let pending = group.map((_, j) => j)
  for (let attempt = 1; attempt <= 3 && pending.length > 0; attempt++) {
    const rs = pending.map((j) => group[j])
    // Damaged gzip data stops short, which the hash check catches (compression: one range, v5 only).
    // The hash of what landed is recorded (tmp + rename) for a later run to resume from, and printed for this one.
    const script = [
      'set -e',
      `cd ${W}`,
      ...rs.flatMap((r) => {
        const put = `dd of=${F} bs=1M oflag=seek_bytes seek=${r.offset} conv=notrunc status=none`
        const rec = shQuote(`${RANGES_DIR}/${rangeKey(e.name)}.${r.offset}`)
        return [
          b.compress ? `gzip -d -c | ${put}` : v5 && rs.length === 1 ? put : `${put} iflag=fullblock,count_bytes count=${r.length}`,
          `S=$(dd if=${F} bs=1M iflag=skip_bytes,count_bytes skip=${r.offset} count=${r.length} status=none | ${hashCommand(h.algo)})`,
          'S=${S%% *}',
          `printf '%s %s %s %s %s\\n' "$S" ${r.offset} ${r.length} ${e.size} ${shQuote(e.name)} > ${rec}.tmp`,
          `mv ${rec}.tmp ${rec}`,
          `echo "R ${r.offset} $S"`,
        ]
      }),
    ].join('\n')
    const what = rangeLabel(e, {offset: rs[0].offset, length: rs.at(-1)!.offset + rs.at(-1)!.length - rs[0].offset})
    const meter = new StdinMeter(result, h.onBytes)
    const sent = new Map<number, string>()
    const x = await s.exec(script, `sending ${what}`, {
      stdin: () => {
        meter.restart()
        sent.clear()
        const gen = (async function* () {
          // a buffer per attempt (a retried range may read while the next one streams), back to the pool
          // once this attempt's reads are over (the exec pump copies each chunk before asking for the next)
          const buf = b.compress ? undefined : (rangeBuffers.pop() ?? Buffer.allocUnsafe(1 << 20))
          try {
            for (const r of rs) {
              const m = createHash(h.algo)
              let at = r.offset
              const reader = {}
              h.hasher?.start(reader, r)
              try {
                for await (const chunk of fileRange(h.fh, e, r.offset, r.length, {buf, signal: o.signal})) {
                  m.update(chunk)
                  h.hasher?.offer(reader, at, chunk)
                  at += chunk.length
                  meter.file(chunk.length)
                  yield chunk
                }
              } finally {
                h.hasher?.end(reader)
              }
              sent.set(r.offset, m.digest('hex'))
            }
          } finally {
            if (buf && rangeBuffers.length < 16) rangeBuffers.push(buf)
          }
        })()
        return b.compress ? gzipped(gen) : gen
      },
      onStdinProgress: (n) => meter.wire(n),
      onStdinDone: h.onSent,
    })
    meter.restart()
    if (b.compress) result.compressed = true
    if (x.exitCode !== 0) throw remoteFailure(`writing ${what}`, o.namespace, s.pod, x)
    const got = new Map<number, string>()
    for (const m of x.stdout.matchAll(new RegExp(`^R (\\d+) ([0-9a-f]{${HEX_DIGITS[h.algo]}})$`, 'gm'))) got.set(Number(m[1]), m[2])
    const bad: number[] = []
    for (const j of pending) {
      const r = group[j]
      const hash = got.get(r.offset)
      if (hash && hash === sent.get(r.offset)) out[j] = hash
      else bad.push(j)
    }
    pending = bad
    if (pending.length > 0 && attempt < 3) {
      for (const j of pending) o.onNote?.(`${rangeLabel(e, group[j])} failed the in-pod checksum; sending it again`)
      result.resentFiles += 1
    }
  }
  h.onSent()
  return out
}

/** Ranges one exec carries at most (a cut or a failed check re-sends only its own ranges). */
const GROUP_MAX = 4
/** A group holds its stream for at most about this long at the rate one stream was measured to carry. */
const GROUP_SECONDS = 3

/**
 * Consecutive ranges to send over one exec (on the sandbox an exec costs ~0.1 s of CPU): only once the
 * stream count is settled and one stream's rate is known, while many ranges per stream are left, and no
 * more than one stream carries in GROUP_SECONDS — so on a link that caps each connection (slow streams)
 * ranges still go one by one, spread over the streams, and the last round stays short.
 */
export function groupSize(rangesLeft: number, rangeBytes: number, streams: {decided: boolean; limit: number; perStreamBytesPerSecond: number}): number {
  if (!streams.decided || streams.perStreamBytesPerSecond <= 0) return 1
  const byTime = Math.floor((streams.perStreamBytesPerSecond * GROUP_SECONDS) / rangeBytes)
  return Math.max(1, Math.min(GROUP_MAX, byTime, Math.floor(rangesLeft / (2 * streams.limit))))
}

/** Read buffers of finished range attempts, reused: a 10 GiB file would otherwise leave 80 MiB of garbage. */
const rangeBuffers: Buffer[] = []

/** A file name as a record file name (names may hold slashes and spaces). */
const rangeKey = (name: string) => createHash('sha1').update(name).digest('hex').slice(0, 20)

/** The file's sha256 from the pod's in-order read (or its one range); read back whole in the pod if that failed. */
async function podSha256(s: Stager, e: HashedEntry, known: string | undefined): Promise<string> {
  if (known && known.length === HEX_DIGITS.sha256) return known
  const out = await s.sh(`cd ${shQuote(s.o.paths.work)} && sha256sum ${shQuote(`./${e.name}`)}`, `hashing ${e.name} in the pod`)
  const d = /^([0-9a-f]{64}) /.exec(out)?.[1]
  if (!d) throw new CliError(`hashing ${e.name} in the pod: no sha256 in its output`, {exitCode: ExitCode.STAGING, reason: 'staging_failed', hint: 'the stage image needs sha256sum; run the push again'})
  return d
}

/** A local range's hash (feeding the file's in-order sha256 where the client computes it, as a send would). */
async function localRangeHash(fh: FileHandle, e: HashedEntry, r: Range, algo: HashAlgo, hasher: OrderedSha256 | undefined, signal?: AbortSignal): Promise<string> {
  const m: Hash = createHash(algo)
  const buf = rangeBuffers.pop() ?? Buffer.allocUnsafe(1 << 20)
  const reader = {}
  hasher?.start(reader, r)
  let at = r.offset
  try {
    for await (const chunk of fileRange(fh, e, r.offset, r.length, {buf, signal})) {
      m.update(chunk)
      hasher?.offer(reader, at, chunk)
      at += chunk.length
    }
  } finally {
    hasher?.end(reader)
    if (rangeBuffers.length < 16) rangeBuffers.push(buf)
  }
  return m.digest('hex')
}

/**
 * Range size for a file: a sixteenth of it, rounded down to a power of two, within 32 MiB–RANGE_BYTES, so that
 * a large file has ranges enough to spread over up to eight streams (on a capped link the last round of
 * ranges runs on few streams) while each range's exec start-up (~0.08 s of CPU on the sandbox, more on a
 * real container runtime) stays small against its bytes. It depends only on the size, so a later run finds
 * the records an earlier one left.
 */
export function defaultRangeBytes(size: number): number {
  const target = Math.max(1, Math.floor(size / 16))
  return Math.min(RANGE_BYTES, Math.max(32 << 20, 2 ** Math.floor(Math.log2(target))))
}

const rangeLabel = (e: HashedEntry, r: Range) => (r.length === e.size ? e.name : `${e.name} (bytes ${r.offset}–${r.offset + r.length})`)
