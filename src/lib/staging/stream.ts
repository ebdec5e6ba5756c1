// Copying the plan's files into the shared PVC, keeping the Go CLI's on-PVC protocol (GO-CLI.md §4.3-4.4:
// `.tracebloc-staging/<table>/`, `<table>.staging-*`/`.old-*` siblings swept after 60 min, atomic swap
// dest→backup, work→dest, rm backup) and adding, on top of it:
// - a content manifest (sha256 per file, hashed while the tar stream reads it) kept as a hidden file in the
//   staged root; a re-push sends only files whose hash differs and skips copy + swap when nothing changed;
// - batches over N parallel exec streams, each ending in md5 and sha256 lines for its files: the pod checks
//   the bytes it wrote with `md5sum -c` (see FileHashes) and records the sha256 lines of the files that pass;
//   a failed file is re-sent, unverified data is never swapped in;
// - a persistent work dir `<table>.staging-resume` whose verified list survives a cut stream, a deleted stage
//   pod or a killed CLI, so the next attempt continues from the verified files;
// - a per-table lock (owner = stage pod) so concurrent pushes of one table fail clearly.
import {createHash, randomBytes} from 'node:crypto'
import {createReadStream} from 'node:fs'
import os from 'node:os'
import {pipeline, Readable} from 'node:stream'
import {createGzip} from 'node:zlib'

import {SHARED_MOUNT} from '../cluster/discovery.js'
import {ExecRefused, ExecResult, ExecStreamCut, execInPod, shQuote} from '../cluster/exec.js'
import {apiFailure, ClusterTarget, sleep} from '../cluster/kube.js'
import {CliError, ExitCode} from '../output/errors.js'
import {HashCache} from './hash-cache.js'
import {BatchLimits, checkStageableName, checksumFileSize, HashedEntry, isCompressible, makeBatches, MANIFEST_NAME, manifestLine, manifestText, parseManifest, planStaging, VERIFIED_NAME} from './manifest.js'
import {STAGE_CONTAINER} from './stage-pod.js'
import {fileRange, TarEntry, tarSize, tarStream} from './tar.js'

export const STAGING_ROOT = `${SHARED_MOUNT}/.tracebloc-staging`
export const RESUME_SUFFIX = '.staging-resume'
const VERIFIED_DIR = `${VERIFIED_NAME}.d`
/** In the work dir: one record per range of a large file that landed (`<md5> <offset> <length> <size> <name>`), so a later run can resume inside the file. */
const RANGES_DIR = '.tb-ranges'

export interface StagingPaths {
  root: string
  dest: string
  /** Persistent per-table work dir (matches the Go CLI's `<table>.staging-*` sweep pattern). */
  work: string
  backup: string
  lock: string
}

export function stagingPaths(table: string, runHex = randomBytes(4).toString('hex')): StagingPaths {
  const dest = `${STAGING_ROOT}/${table}`
  return {root: STAGING_ROOT, dest, work: `${dest}${RESUME_SUFFIX}`, backup: `${dest}.old-${runHex}`, lock: `${STAGING_ROOT}/.${table}.lock`}
}

export interface StageProgress {
  phase: 'hashing' | 'copying' | 'verifying'
  /** File bytes (not tar bytes) transferred or in flight, against `totalBytes` to send. */
  bytes: number
  totalBytes: number
  files: number
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
  entries: Array<TarEntry & {mtimeMs?: number}>
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
  /** Range size for large files (default RANGE_BYTES). */
  rangeBytes?: number
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
}

export const DEFAULT_PARALLEL = 2
export const DEFAULT_BATCH: BatchLimits = {bytes: 32 << 20, files: 2000}
/** A file at least this large, alone in its batch, is hashed in the pod while it streams (no tar, no re-read). */
export const STREAM_HASH_MIN_BYTES = 8 << 20
/** Large files travel in ranges of this size, one exec each (a cut re-sends one range). */
export const RANGE_BYTES = 128 << 20
/** Under --compress auto, text smaller than this in total rides uncompressed with the other files. */
export const COMPRESS_MIN_BYTES = 4 << 20
/** --compress auto judges the link once this many plain bytes were delivered (until then: plain). */
export const COMPRESS_JUDGE_BYTES = 4 << 20
/**
 * Under --compress auto, large text files are gzipped only when the plain batches sent before them were
 * delivered slower than this (all streams together, wall time since the first plain byte). gzip costs CPU on
 * both ends (on the sandbox a gzipped CSV went through at ~43 MiB/s where a plain stream ran at ~65 MiB/s:
 * docs/benchmarks.md), so it only pays where the link, not the CPU, is the limit.
 */
export const COMPRESS_BELOW_BYTES_PER_SECOND = 10 << 20

const transientStatus = (s: number) => s === 429 || (s >= 500 && s <= 504)

class Stager {
  pod: string
  retries = 0
  /** Large files partly on the volume from an earlier run: their range records (stageFiles step 3). */
  readonly partial: RangeRecords = new Map()
  protocol?: string
  constructor(readonly o: StreamOptions) {
    this.pod = o.pod
  }

  private get attempts() {
    return this.o.attempts ?? 6
  }

  aborted(): Error | undefined {
    const s = this.o.signal
    if (!s?.aborted) return undefined
    return s.reason instanceof Error ? s.reason : new Error('aborted')
  }

  /** One exec with retries for transient failures; a vanished pod is recreated when we can. */
  async exec(script: string, what: string, opts: {stdin?: () => Readable | AsyncIterable<Buffer>; capture?: number; onStdinProgress?: (n: number) => void; onStdinDone?: () => void; retry?: boolean} = {}): Promise<ExecResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await execInPod(this.o.t, {
          namespace: this.o.namespace,
          pod: this.pod,
          container: STAGE_CONTAINER,
          command: ['/bin/sh', '-c', script],
          stdin: opts.stdin?.(),
          onStdinProgress: opts.onStdinProgress,
          onStdinDone: opts.onStdinDone,
          signal: this.o.signal,
          captureLimit: opts.capture,
        })
        this.protocol ??= r.protocol
        // A non-zero exit because the pod was deleted under us is transient: new pod, same work dir.
        if (r.exitCode !== 0 && opts.retry !== false && attempt < this.attempts && (await this.podGone())) {
          this.retries++
          await this.recreate(`${what}: stage pod ${this.pod} is gone`)
          continue
        }
        return r
      } catch (error) {
        const ab = this.aborted()
        if (ab) throw ab
        const retryable = opts.retry !== false && attempt < this.attempts
        if (error instanceof ExecStreamCut || (error instanceof ExecRefused && transientStatus(error.status))) {
          if (!retryable) throw new CliError(`${what}: ${error.message} (gave up after ${attempt} attempts)`, {exitCode: ExitCode.STAGING, reason: 'stream_cut', hint: 'check the connection to the cluster and run the push again: verified files are kept and not sent again'})
          this.retries++
          const wait = error instanceof ExecRefused && error.retryAfterSeconds ? Math.min(error.retryAfterSeconds, 30) * 1000 : Math.min(250 * 2 ** (attempt - 1), 5000)
          this.o.onNote?.(`${what}: ${error.message}; retrying (${attempt}/${this.attempts - 1})`)
          await sleep(wait, this.o.signal)
          await this.ensurePod()
          continue
        }
        if (error instanceof ExecRefused && (error.status === 404 || /not found|not running|completed pod/i.test(error.message)) && this.o.recreatePod && retryable) {
          this.retries++
          await this.recreate(`${what}: stage pod ${this.pod} is gone (${error.message})`)
          continue
        }
        if (error instanceof ExecRefused) {
          throw new CliError(`${what}: the API server refused exec into ${this.o.namespace}/${this.pod} (HTTP ${error.status}: ${error.message})`, {
            exitCode: ExitCode.STAGING,
            hint: error.status === 403 ? 'your user needs `create` and `get` on pods/exec in the client namespace' : undefined,
            reason: error.status === 403 ? 'rbac_denied' : 'exec_refused',
          })
        }
        if (error instanceof CliError) throw error
        throw new CliError(`${what}: ${(error as Error).message}`, {exitCode: ExitCode.STAGING, reason: 'staging_failed'})
      }
    }
  }

  /** Run a script that must exit 0. */
  async sh(script: string, what: string, opts: Parameters<Stager['exec']>[2] = {}): Promise<string> {
    const r = await this.exec(script, what, opts)
    if (r.exitCode !== 0) throw remoteFailure(what, this.o.namespace, this.pod, r)
    return r.stdout
  }

  /** After a cut: if the stage pod died or was deleted, make a new one (the work dir lives on the PVC). */
  private async ensurePod(): Promise<void> {
    if (await this.podGone()) await this.recreate(`stage pod ${this.pod} is gone`)
  }

  private async podGone(): Promise<boolean> {
    if (!this.o.recreatePod) return false
    try {
      const p = await this.o.t.core.readNamespacedPod({name: this.pod, namespace: this.o.namespace})
      return Boolean(p.metadata?.deletionTimestamp) || p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded'
    } catch (error) {
      return apiFailure(error).code === 404
    }
  }

  private async recreate(why: string): Promise<void> {
    this.o.onNote?.(`${why}; starting a new one and continuing from the verified files`)
    this.pod = await this.o.recreatePod!()
    this.o.onNote?.(`continuing in stage pod ${this.pod}`)
    // The lock names its holder's pod: take it over for the new pod.
    await this.sh(`printf '%s\\n' ${shQuote(this.ownerLine())} > ${shQuote(this.o.paths.lock)}`, 'moving the staging lock to the new pod', {retry: false})
  }

  ownerLine(): string {
    return `pod=${this.pod} host=${os.hostname()} pid=${process.pid}`
  }

  /** Take the per-table lock and read what the PVC already holds (staged manifest, verified work files). */
  async lockAndReadState(): Promise<{dest?: Map<string, string>; destExists: boolean; verified?: Map<string, string>; workExists: boolean; ranges: RangeRecords}> {
    const {root, dest, work, lock} = this.o.paths
    let force = false
    for (;;) {
      const script = [
        'set -e',
        `mkdir -p ${shQuote(root)}`,
        force
          ? `printf '%s\\n' ${shQuote(this.ownerLine())} > ${shQuote(lock)}`
          : `if ! ( set -C; printf '%s\\n' ${shQuote(this.ownerLine())} > ${shQuote(lock)} ) 2>/dev/null; then echo '@@HELD'; cat ${shQuote(lock)}; exit 0; fi`,
        `if [ -d ${shQuote(dest)} ]; then echo '@@DESTDIR'; fi`,
        `if [ -f ${shQuote(`${dest}/${MANIFEST_NAME}`)} ]; then echo '@@DEST'; cat ${shQuote(`${dest}/${MANIFEST_NAME}`)}; fi`,
        `if [ -d ${shQuote(work)} ]; then echo '@@WORKDIR'; echo '@@VERIFIED'; cat ${shQuote(`${work}/${VERIFIED_DIR}`)}/* 2>/dev/null || true; echo '@@RANGES'; cat ${shQuote(`${work}/${RANGES_DIR}`)}/* 2>/dev/null || true; fi`,
      ].join('\n')
      const out = await this.sh(script, 'reading the staged copy', {capture: 1 << 30})
      const sections = splitSections(out)
      if (sections.has('HELD')) {
        const holder = sections.get('HELD')!.trim()
        if (await this.holderIsStale(holder)) {
          this.o.onNote?.(`taking over a stale staging lock of table ${this.o.table} (${holder})`)
          force = true
          continue
        }
        const pod = /pod=(\S+)/.exec(holder)?.[1]
        throw new CliError(`another push of table "${this.o.table}" is staging right now (stage pod ${pod ?? '?'})`, {
          exitCode: ExitCode.STAGING,
          reason: 'staging_locked',
          hint: `wait for it to finish; if that push is dead, delete its pod and run again: kubectl delete pod -n ${this.o.namespace} ${pod ?? '<pod>'}`,
        })
      }
      return {
        destExists: sections.has('DESTDIR'),
        dest: sections.has('DEST') ? parseManifest(sections.get('DEST')!) : undefined,
        workExists: sections.has('WORKDIR'),
        verified: sections.has('VERIFIED') ? parseManifest(sections.get('VERIFIED')!) : undefined,
        ranges: parseRangeRecords(sections.get('RANGES') ?? ''),
      }
    }
  }

  /** Stale: the holder's pod is gone, or it was this machine's CLI and that process is dead (its pod is then removed). */
  private async holderIsStale(holder: string): Promise<boolean> {
    const pod = /pod=(\S+)/.exec(holder)?.[1]
    const host = /host=(\S+)/.exec(holder)?.[1]
    const pid = Number(/pid=(\d+)/.exec(holder)?.[1])
    if (!pod) return true
    let exists: boolean
    try {
      const p = await this.o.t.core.readNamespacedPod({name: pod, namespace: this.o.namespace})
      exists = !p.metadata?.deletionTimestamp && p.status?.phase !== 'Failed' && p.status?.phase !== 'Succeeded'
    } catch (error) {
      if (apiFailure(error).code === 404) exists = false
      else throw error
    }
    if (!exists) return true
    if (host === os.hostname() && pid > 0 && pid !== process.pid && !processAlive(pid)) {
      // A CLI on this machine that was killed outright: its stage pod idles until its deadline.
      await this.o.t.core.deleteNamespacedPod({name: pod, namespace: this.o.namespace, gracePeriodSeconds: 0}).catch(() => undefined)
      return true
    }
    return false
  }

  async release(): Promise<void> {
    const {lock, backup} = this.o.paths
    await execInPod(this.o.t, {
      namespace: this.o.namespace,
      pod: this.pod,
      container: STAGE_CONTAINER,
      command: ['/bin/sh', '-c', `rm -rf ${shQuote(backup)}; if grep -q ${shQuote(`pod=${this.pod} `)} ${shQuote(lock)} 2>/dev/null; then rm -f ${shQuote(lock)}; fi`],
    }).catch(() => undefined)
  }
}

/** Ranges of large files already on the volume, by file name, then offset. */
type RangeRecords = Map<string, Map<number, {length: number; size: number; md5: string}>>

function parseRangeRecords(text: string): RangeRecords {
  const out: RangeRecords = new Map()
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{32}) (\d+) (\d+) (\d+) (.+)$/.exec(line)
    if (!m) continue
    let file = out.get(m[5])
    if (!file) out.set(m[5], (file = new Map()))
    file.set(Number(m[2]), {md5: m[1], length: Number(m[3]), size: Number(m[4])})
  }
  return out
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function splitSections(out: string): Map<string, string> {
  const m = new Map<string, string>()
  let cur: string | undefined
  let buf: string[] = []
  for (const line of out.split('\n')) {
    const h = /^@@([A-Z]+)$/.exec(line)
    if (h) {
      if (cur) m.set(cur, buf.join('\n'))
      cur = h[1]
      buf = []
    } else if (cur) buf.push(line)
  }
  if (cur) m.set(cur, buf.join('\n'))
  return m
}

function remoteFailure(what: string, ns: string, pod: string, r: ExecResult): CliError {
  const err = r.stderr.trim().split('\n').slice(-3).join(' | ') || 'no output'
  return new CliError(`${what} failed in ${ns}/${pod} (exit ${r.exitCode}): ${err}`, {
    exitCode: ExitCode.STAGING,
    hint: r.stderr.includes('No space left')
      ? 'client-pvc is full: free space or grow the PVC'
      : r.stderr.includes('Permission denied')
        ? `the stage pod (uid 65532) cannot write ${STAGING_ROOT}; the PVC must be writable by that uid`
        : undefined,
    reason: 'staging_failed',
  })
}

async function hashFile(path: string, signal?: AbortSignal): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(path, {highWaterMark: 1 << 20, signal}) as AsyncIterable<Buffer>) h.update(chunk)
  return h.digest('hex')
}

/** A small length-framed tar of generated files (for lists too long for a command line). */
function smallTar(files: Array<{name: string; text: string}>): {size: number; stream: () => AsyncIterable<Buffer>} {
  const entries: TarEntry[] = files.map((f) => {
    const buf = Buffer.from(f.text, 'utf8')
    return {localPath: '', name: f.name, size: buf.length, data: () => buf}
  })
  return {size: tarSize(entries), stream: () => tarStream(entries)}
}

/** Lock, plan, prepare the work dir, send batches in parallel (verified in-pod), check, write the manifest, swap. */
export async function stageFiles(o: StreamOptions): Promise<StreamResult> {
  const started = Date.now()
  const s = new Stager(o)
  const {dest, work, backup, lock, root} = o.paths
  const entries: HashedEntry[] = o.entries.map((e) => ({...e}))
  for (const e of entries) {
    try {
      checkStageableName(e.name)
    } catch (error) {
      throw new CliError((error as Error).message, {exitCode: ExitCode.BAD_INPUT, reason: 'bad_file_name'})
    }
  }
  const totalBytes = entries.reduce((a, e) => a + e.size, 0)
  const result: StreamResult = {files: entries.length, bytes: totalBytes, skippedFiles: 0, skippedBytes: 0, sentBytes: 0, wireBytes: 0, sentFiles: 0, resentFiles: 0, resumedBytes: 0, batches: 0, retries: 0, parallel: 0, compressed: false, swapped: false, seconds: 0}
  const finish = () => {
    o.cache?.save()
    result.retries = s.retries
    result.protocol = s.protocol
    result.seconds = (Date.now() - started) / 1000
    return result
  }

  // 1. Lock the table and read what the cluster already holds.
  const state = await s.lockAndReadState()
  try {
    // 2. Local hashes: cache hits are free; files the cluster may already hold are hashed now, the rest while sent.
    for (const e of entries) if (o.cache && e.mtimeMs !== undefined) e.sha256 = o.cache.get(e.localPath, e.size, e.mtimeMs)
    let plan = planStaging(entries, state.dest, state.verified)
    if (plan.needHash.length > 0) {
      const need = plan.needHash.reduce((a, e) => a + e.size, 0)
      let done = 0
      const t0 = Date.now()
      for (const e of plan.needHash) {
        e.sha256 = await hashFile(e.localPath, o.signal)
        if (o.cache && e.mtimeMs !== undefined) o.cache.set(e.localPath, e.size, e.mtimeMs, e.sha256)
        done += e.size
        const rate = done / Math.max(0.001, (Date.now() - t0) / 1000)
        o.onProgress?.({phase: 'hashing', bytes: done, totalBytes: need, files: 0, totalFiles: plan.needHash.length, skippedFiles: 0, skippedBytes: 0, bytesPerSecond: rate, etaSeconds: (need - done) / rate, retries: s.retries})
      }
      plan = planStaging(entries, state.dest, state.verified)
    }
    const kept = [...plan.verified, ...plan.fromDest]
    result.skippedFiles = kept.length
    result.skippedBytes = kept.reduce((a, e) => a + e.size, 0)

    if (plan.unchanged) {
      // Nothing changed: the staged copy stays as it is; drop a leftover work dir.
      await s.sh(`rm -rf ${shQuote(work)}; rm -f ${shQuote(lock)}`, 'keeping the unchanged staged copy')
      o.onProgress?.({phase: 'copying', bytes: 0, totalBytes: 0, files: 0, totalFiles: 0, skippedFiles: result.skippedFiles, skippedBytes: result.skippedBytes, bytesPerSecond: 0, etaSeconds: 0, retries: s.retries})
      return finish()
    }

    // 3. Prepare the work dir: keep verified files and partly sent large files whose ranges may still
    // serve, hard-link unchanged ones from the staged copy, drop the rest.
    for (const e of plan.send) {
      const r = state.ranges.get(e.name)
      if (r && [...r.values()].some((x) => x.size === e.size)) s.partial.set(e.name, r)
    }
    if (kept.length > 0 || state.workExists) {
      const keepText = manifestText(kept)
      const linkText = plan.fromDest.map((e) => `${e.name}\n`).join('')
      const tar = smallTar([
        {name: '.tb-keep', text: keepText},
        {name: '.tb-link', text: linkText},
        {name: '.tb-partial', text: [...s.partial.keys()].map((n) => `${n}\n`).join('')},
      ])
      const W = shQuote(work)
      const D = shQuote(dest)
      await s.sh(
        [
          'set -e',
          'FRESH=0',
          `if [ ! -d ${W} ]; then FRESH=1; if [ -d ${D} ] && [ ${plan.fromDest.length} -gt 0 ]; then cp -al ${D} ${W} 2>/dev/null || { rm -rf ${W}; cp -a ${D} ${W}; }; else mkdir -p ${W}; fi; fi`,
          `cd ${W}`,
          // control files of an earlier run go, the range records stay (checked against the data before use)
          `rm -rf ${shQuote(MANIFEST_NAME)}; for f in ./.tb-*; do [ "$f" = ./${RANGES_DIR} ] || rm -rf "$f"; done`,
          `head -c ${tar.size} | tar -x -f -`,
          `find . -type f ! -path './${VERIFIED_DIR}/*' | sed 's|^\\./||' > .tb-have`,
          // remove everything that is neither kept nor one of our control files
          `awk 'FILENAME == ".tb-keep" { k[substr($0, 67)] = 1; next } FILENAME == ".tb-partial" { k[$0] = 1; next } !($0 in k) && $0 !~ /^\\.tb-/' .tb-keep .tb-partial .tb-have | while IFS= read -r p; do rm -f "./$p"; done`,
          // a resumed work dir: (re)link the unchanged files from the staged copy (unverified leftovers may sit there)
          `if [ $FRESH = 0 ]; then while IFS= read -r p; do rm -f "./$p"; case "$p" in */*) mkdir -p "./\${p%/*}";; esac; ln ${D}/"$p" "./$p" 2>/dev/null || cp ${D}/"$p" "./$p"; done < .tb-link; fi`,
          `rm -rf ${shQuote(VERIFIED_DIR)}; mkdir -p ${shQuote(VERIFIED_DIR)}`,
          `mv .tb-keep ${shQuote(`${VERIFIED_DIR}/base`)}`,
          'rm -f .tb-have .tb-link .tb-partial',
          'find . -depth -type d -empty ! -name . -exec rmdir {} + 2>/dev/null || true',
          'touch .',
        ].join('\n'),
        'preparing the work directory',
        {stdin: tar.stream},
      )
    }

    // 4. Send what differs, in batches over parallel streams, each verified in the pod.
    await sendAll(s, o, plan.send, result)

    // 5. Every file present with its size, nothing extra; re-send what is not (at most twice).
    for (let round = 0; ; round++) {
      const bad = await checkTree(s, entries)
      if (bad.length === 0) break
      if (round >= 2) {
        throw new CliError(`staged copy does not match the dataset: ${bad.slice(0, 5).map((e) => e.name).join(', ')}${bad.length > 5 ? ` … and ${bad.length - 5} more` : ''}`, {exitCode: ExitCode.STAGING, reason: 'verify_failed', hint: 'run the push again; nothing was submitted'})
      }
      o.onNote?.(`${bad.length} staged file(s) missing or the wrong size (${bad.slice(0, 3).map((e) => e.name).join(', ')}); sending them again`)
      result.resentFiles += bad.length
      await s.sh(`cd ${shQuote(work)} && rm -f ${bad.map((e) => `./${shQuote(e.name)}`).join(' ')}`, 'dropping bad files')
      await dropVerified(s, bad)
      await sendAll(s, o, bad, result)
    }

    // 6. Manifest next to the staged copy, then the atomic swap (dest→backup, work→dest, rm backup) and the sweep.
    const man = smallTar([{name: MANIFEST_NAME, text: manifestText(entries)}])
    const W = shQuote(work)
    const D = shQuote(dest)
    const B = shQuote(backup)
    await s.sh(
      [
        'set -e',
        `cd ${W}`,
        `head -c ${man.size} | tar -x -f -`,
        `rm -rf ${shQuote(VERIFIED_DIR)} ./.tb-*`,
        'cd /',
        `if [ -e ${D} ]; then mv ${D} ${B}; fi`,
        `if ! mv ${W} ${D}; then if [ -e ${B} ]; then mv ${B} ${D}; fi; exit 1; fi`,
        `rm -rf ${B}`,
        `rm -f ${shQuote(lock)}`,
        // Sweep leftovers of crashed runs for this table (older than an hour), like the Go CLI.
        `find ${shQuote(root)} -maxdepth 1 \\( -name ${shQuote(`${o.table}.staging-*`)} -o -name ${shQuote(`${o.table}.old-*`)} \\) -mmin +60 -exec rm -rf {} + 2>/dev/null || true`,
      ].join('\n'),
      'swapping the staged copy into place',
      {stdin: man.stream},
    )
    result.swapped = true
    return finish()
  } catch (error) {
    finish()
    throw error
  } finally {
    if (!result.swapped) await s.release()
  }
}

/** Forget verified entries (they failed a later check). */
async function dropVerified(s: Stager, bad: HashedEntry[]): Promise<void> {
  const list = smallTar([{name: '.tb-drop', text: bad.map((e) => `${e.name}\n`).join('')}])
  await s.sh(
    [
      'set -e',
      `cd ${shQuote(s.o.paths.work)}`,
      `head -c ${list.size} | tar -x -f -`,
      `for f in ${shQuote(VERIFIED_DIR)}/*; do [ -f "$f" ] || continue; awk 'NR==FNR { d[$0] = 1; next } !(substr($0, 67) in d)' .tb-drop "$f" > "$f.tmp"; mv "$f.tmp" "$f"; done`,
      'rm -f .tb-drop',
    ].join('\n'),
    'updating the verified list',
    {stdin: list.stream},
  )
}

/** Sizes of everything in the work dir against the plan. */
async function checkTree(s: Stager, entries: HashedEntry[]): Promise<HashedEntry[]> {
  const out = await s.sh(`cd ${shQuote(s.o.paths.work)} && find . -type f ! -path './${VERIFIED_DIR}/*' ! -path './${RANGES_DIR}/*' ! -name '.tb-*' -exec stat -c '%s %n' {} +`, 'checking the staged files', {capture: 1 << 30})
  const landed = new Map<string, number>()
  for (const line of out.split('\n')) {
    const m = /^(\d+) \.\/(.*)$/.exec(line)
    if (m) landed.set(m[2], Number(m[1]))
  }
  const bad = entries.filter((e) => landed.get(e.name) !== e.size)
  const names = new Set(entries.map((e) => e.name))
  const extra = [...landed.keys()].filter((n) => !names.has(n) && n !== MANIFEST_NAME)
  if (extra.length > 0) {
    await s.sh(`cd ${shQuote(s.o.paths.work)} && rm -f ${extra.map((n) => `./${shQuote(n)}`).join(' ')}`, 'removing stray files')
  }
  return bad
}

interface Batch {
  id: string
  files: HashedEntry[]
  bytes: number
  compress: boolean
  tries: number
}

async function sendAll(s: Stager, o: StreamOptions, files: HashedEntry[], result: StreamResult): Promise<void> {
  if (files.length === 0) return
  const limits = {files: o.batch?.files ?? DEFAULT_BATCH.files, bytes: o.batch?.bytes ?? DEFAULT_BATCH.bytes}
  const mode = o.compress ?? 'auto'
  // gzip's output length is unknown up front, so compressed batches rely on the v5 stdin close instead of
  // `head -c N` framing: compression is only used on v5 connections (learned from the first exec).
  const v5 = s.protocol === 'v5.channel.k8s.io'
  const canCompress = mode !== 'off' && v5
  if (mode === 'on' && !v5) o.onNote?.('--compress on: this API server speaks exec v4 only (no stdin close), sending uncompressed')
  // Text files may be gzipped: small ones in tar batches (`gzip -d | tar -x`), large ones alone, in ranges
  // (`gzip -d | dd`). Under auto the first batches go plain and measure the link before anything is gzipped.
  const bigEnough = o.streamHashMinBytes ?? STREAM_HASH_MIN_BYTES
  let text = canCompress ? files.filter((e) => isCompressible(e.name)) : []
  // a little text (labels.csv) does not pay for batches of its own
  if (mode === 'auto' && text.reduce((a, e) => a + e.size, 0) < COMPRESS_MIN_BYTES) text = []
  const textSet = new Set(text)
  const rest = text.length > 0 ? files.filter((e) => !textSet.has(e)) : files
  const queue: Batch[] = []
  const runHex = randomBytes(3).toString('hex')
  let n = 0
  for (const [group, compress] of [
    [rest, false],
    [text, true],
  ] as const) {
    // large files always travel alone (without tar, in ranges), after the tar batches of the small ones
    const alone = group.filter((e) => e.size >= bigEnough)
    const small = alone.length > 0 ? group.filter((e) => e.size < bigEnough) : group
    for (const b of [...makeBatches(small, limits), ...alone.map((e) => [e])]) queue.push({id: `${runHex}-${++n}`, files: b, bytes: b.reduce((a, e) => a + e.size, 0), compress, tries: 0})
  }
  result.batches += queue.length
  const parallel = Math.max(1, Math.min(o.parallel ?? DEFAULT_PARALLEL, queue.length))
  result.parallel = Math.max(result.parallel, parallel)

  const toSend = files.reduce((a, e) => a + e.size, 0)
  const totalFiles = files.length
  let doneBytes = 0
  let doneFiles = 0
  const inflight = new Map<string, number>()
  const t0 = Date.now()
  let lastReport = 0
  const report = (force = false) => {
    const now = Date.now()
    if (!force && now - lastReport < 200) return
    lastReport = now
    let fly = 0
    for (const v of inflight.values()) fly += v
    const bytes = Math.min(toSend, doneBytes + fly)
    const secs = (now - t0) / 1000
    const rate = secs > 0 ? bytes / secs : 0
    o.onProgress?.({phase: 'copying', bytes, totalBytes: toSend, files: doneFiles, totalFiles, skippedFiles: result.skippedFiles, skippedBytes: result.skippedBytes, bytesPerSecond: rate, etaSeconds: rate > 0 ? (toSend - bytes) / rate : undefined, retries: s.retries})
  }

  // The link as the pod sees it: plain bytes delivered (extracted and checked in the pod, not merely handed
  // to a socket buffer) over the time plain batches were under way — first byte to done, overlaps counted
  // once, exec start-up left out — judged only once COMPRESS_JUDGE_BYTES arrived, so one slow start on a
  // busy machine does not decide it.
  let plainDoneBytes = 0
  let plainActive = 0
  let plainBusySince = 0
  let plainBusyMs = 0
  const plainStart = () => {
    if (plainActive++ === 0) plainBusySince = Date.now()
  }
  const plainEnd = () => {
    if (--plainActive === 0) plainBusyMs += Date.now() - plainBusySince
  }
  const linkIsSlow = () => {
    if (plainDoneBytes < COMPRESS_JUDGE_BYTES) return false
    const ms = plainBusyMs + (plainActive > 0 ? Date.now() - plainBusySince : 0)
    return plainDoneBytes / Math.max(0.001, ms / 1000) < COMPRESS_BELOW_BYTES_PER_SECOND
  }

  // A batch holds a transfer slot only while its stdin streams; its in-pod checksum run then overlaps the
  // next batch's transfer. So `parallel` streams upload at once and as many more may be verifying.
  let slots = parallel
  const slotWaiters: Array<() => void> = []
  const acquire = async () => {
    while (slots === 0) await new Promise<void>((r) => slotWaiters.push(r))
    slots--
  }
  const releaser = () => {
    let held = true
    return () => {
      if (!held) return
      held = false
      slots++
      slotWaiters.shift()?.()
    }
  }
  const worker = async () => {
    for (;;) {
      await acquire()
      const release = releaser()
      const b = queue.shift()
      if (!b) {
        release()
        return
      }
      // auto: the first batches go plain and measure the link; text is gzipped once the link proves slow
      if (b.compress && mode === 'auto') b.compress = linkIsSlow()
      let measuring = false
      const failed = await sendBatch(s, o, b, result, (bytes) => {
        if (!b.compress && !measuring) {
          measuring = true
          plainStart()
        }
        inflight.set(b.id, bytes)
        report()
      }, release).finally(() => {
        if (measuring) plainEnd()
        inflight.delete(b.id)
        release()
      })
      if (!b.compress) plainDoneBytes += b.bytes
      const ok = b.files.filter((e) => !failed.includes(e))
      doneBytes += ok.reduce((a, e) => a + e.size, 0)
      doneFiles += ok.length
      if (failed.length > 0) {
        b.tries++
        if (b.tries >= 3) {
          throw new CliError(`in-pod checksum failed ${b.tries} times for ${failed.slice(0, 3).map((e) => e.name).join(', ')}`, {exitCode: ExitCode.STAGING, reason: 'verify_failed', hint: 'the data is corrupted on the way to the PVC; check the PVC/storage; nothing was submitted'})
        }
        o.onNote?.(`${failed.length} file(s) failed the in-pod checksum (${failed.slice(0, 3).map((e) => e.name).join(', ')}); sending them again`)
        result.resentFiles += failed.length
        queue.push({...b, id: `${b.id}r${b.tries}`, files: failed, bytes: failed.reduce((a, e) => a + e.size, 0)})
      }
      report(true)
    }
  }
  // One failing worker stops the others at their next batch (shared queue emptied).
  const workers = Array.from({length: Math.min(2 * parallel, queue.length)}, () =>
    worker().catch((error) => {
      queue.length = 0
      throw error
    }),
  )
  const settled = await Promise.allSettled(workers)
  const bad = settled.find((r) => r.status === 'rejected')
  if (bad) throw (bad as PromiseRejectedResult).reason
}

/** One batch = one exec: extract, `md5sum -c` the trailing checksum entry, record what verified. Returns files that failed. */
async function sendBatch(s: Stager, o: StreamOptions, b: Batch, result: StreamResult, onBytes: (fileBytes: number) => void, onSent: () => void): Promise<HashedEntry[]> {
  if (b.files.length === 1 && b.files[0].size >= (o.streamHashMinBytes ?? STREAM_HASH_MIN_BYTES)) return sendLargeFile(s, o, b, result, onBytes, onSent)
  const names = b.files.map((e) => e.name)
  // Two trailing entries, written once every file is read: md5 lines for the pod's check, and the sha256
  // manifest lines that are recorded for the files that pass it.
  const md5s = new Map<HashedEntry, string>()
  const md5Name = `.tb-batch-${b.id}.md5`
  const shaName = `.tb-batch-${b.id}.sha256`
  const md5Entry: TarEntry = {
    localPath: '',
    name: md5Name,
    size: checksumFileSize(names, 32),
    data: () => Buffer.from(b.files.map((e) => `${md5s.get(e)}  ${e.name}\n`).join(''), 'utf8'),
  }
  const shaEntry: TarEntry = {
    localPath: '',
    name: shaName,
    size: checksumFileSize(names),
    data: () => Buffer.from(b.files.map((e) => manifestLine(e.sha256!, e.name)).join(''), 'utf8'),
  }
  const tarEntries: TarEntry[] = [...b.files, md5Entry, shaEntry]
  const archiveSize = tarSize(tarEntries)
  const W = shQuote(s.o.paths.work)
  const M = shQuote(md5Name)
  const S = shQuote(shaName)
  const res = shQuote(`.tb-batch-${b.id}.res`)
  const okf = shQuote(`${VERIFIED_DIR}/${b.id}`)
  // v5 closes stdin at the end of the archive; v4 cannot, so there the archive is length-framed. (busybox
  // `head -c` copies in small reads and halved the stream's throughput: it is only used where it is needed.)
  const v5 = s.protocol === 'v5.channel.k8s.io'
  // gunzip in its own process: busybox tar's -z is a build option (Debian's busybox-static lacks it)
  const extract = b.compress ? 'gzip -d -c | tar -x -f -' : v5 ? 'tar -x -f -' : `head -c ${archiveSize} | tar -x -f -`
  const script = [
    'set -e',
    `mkdir -p ${W}/${shQuote(VERIFIED_DIR)}`,
    `cd ${W}`,
    'touch .',
    extract,
    `md5sum -c ${M} > ${res} 2>/dev/null || true`,
    // record the sha256 lines of the files that passed, atomically (tmp + rename): parallel batches never interleave
    `awk 'NR==FNR { if (sub(/: OK$/, "")) ok[$0] = 1; next } (substr($0, 67) in ok)' ${res} ${S} > ${okf}.tmp`,
    `mv ${okf}.tmp ${okf}`,
    `grep -v ': OK$' ${res} || true`,
    `rm -f ${M} ${S} ${res}`,
  ].join('\n')

  const meter = new StdinMeter(result, onBytes)
  const hashes = new Map<HashedEntry, FileHashes>()
  const r = await s.exec(script, `sending batch ${b.id} (${b.files.length} files)`, {
    stdin: () => {
      meter.restart()
      hashes.clear()
      const gen = tarStream(tarEntries, {
        signal: o.signal,
        reuseBuffer: !b.compress,
        onChunk: (e, chunk) => {
          let h = hashes.get(e as HashedEntry)
          if (!h) hashes.set(e as HashedEntry, (h = new FileHashes()))
          h.update(chunk)
          meter.file(chunk.length)
        },
        onFileDone: (e) => {
          const he = e as HashedEntry
          const h = hashes.get(he) ?? new FileHashes()
          hashes.delete(he)
          he.sha256 = h.sha256.digest('hex')
          md5s.set(he, h.md5.digest('hex'))
          if (o.cache && he.mtimeMs !== undefined) o.cache.set(he.localPath, he.size, he.mtimeMs, he.sha256)
        },
      })
      return b.compress ? gzipped(gen) : gen
    },
    onStdinProgress: (n) => meter.wire(n),
    onStdinDone: onSent,
  })
  meter.restart()
  if (b.compress) result.compressed = true
  if (r.exitCode !== 0) throw remoteFailure(`extracting batch ${b.id}`, o.namespace, s.pod, r)
  result.sentFiles += b.files.length
  const failedNames = new Set<string>()
  for (const line of r.stdout.split('\n')) {
    const i = line.lastIndexOf(': ')
    if (i > 0 && /FAILED/.test(line.slice(i))) failedNames.add(line.slice(0, i))
  }
  return b.files.filter((e) => failedNames.has(e.name))
}

/**
 * Both hashes of one file, from the same reads: sha256 is its identity (manifest, cache, incremental
 * re-push), md5 is what the pod checks the received bytes against. busybox has no SHA-NI code, so its
 * sha256sum costs ~6.7 ms of pod CPU per MiB against md5sum's ~2.5; md5 is not collision-resistant against
 * a crafted input, but the only party choosing the bytes is the user, and against transfer damage it is
 * as good a check. The client pays ~1.8 ms/MiB more (OpenSSL), the pod ~4 ms/MiB less.
 */
class FileHashes {
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
class StdinMeter {
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
function gzipped(gen: AsyncIterable<Buffer>): Readable {
  const gz = createGzip({level: 1, chunkSize: 256 << 10})
  pipeline(Readable.from(gen), gz, () => undefined) // an error (file changed, abort) destroys gz → the exec fails
  return gz
}

/**
 * A large file alone in its batch goes without tar, in ranges of `rangeBytes` (one exec each): the pod
 * writes a range at its offset with dd, then hashes that range back from disk with md5sum. Ranges are sent
 * one after another, and the next starts as soon as the previous one's bytes are sent, so the pod hashes
 * range i while range i+1 streams; a cut or a failed check re-sends one range, not the file. The file's
 * sha256 is computed in file order as the ranges are first read, and recorded once every range checked.
 * (busybox `tee` copies in 1 KiB reads: teeing into a hash cost 6.5x the CPU of writing, then hashing.)
 */
async function sendLargeFile(s: Stager, o: StreamOptions, b: Batch, result: StreamResult, onBytes: (fileBytes: number) => void, onSent: () => void): Promise<HashedEntry[]> {
  const e = b.files[0]
  const W = shQuote(s.o.paths.work)
  const F = shQuote(`./${e.name}`)
  const dir = e.name.includes('/') ? e.name.slice(0, e.name.lastIndexOf('/')) : undefined
  // ranges an earlier run wrote (same file size); each is used only if the local bytes still hash the same
  const prior = s.partial.get(e.name)
  s.partial.delete(e.name) // a later re-send of this file starts over
  const usable = prior && [...prior.values()].some((x) => x.size === e.size)
  const R = shQuote(`${RANGES_DIR}/${rangeKey(e.name)}`)
  await s.sh(
    [
      'set -e',
      `mkdir -p ${W}/${shQuote(VERIFIED_DIR)} ${W}/${shQuote(RANGES_DIR)}`,
      `cd ${W}`,
      'touch .',
      dir ? `mkdir -p ${shQuote(`./${dir}`)}` : '',
      // fresh: never write through a hard link into the staged copy (cp -al) — tar -x unlinks first too
      usable ? `[ -f ${F} ] || : > ${F}` : `rm -f ${F} ${R}.*; : > ${F}`,
    ]
      .filter(Boolean)
      .join('\n'),
    `preparing ${e.name}`,
  )
  const size = o.rangeBytes && o.rangeBytes > 0 ? o.rangeBytes : RANGE_BYTES
  const ranges: Array<{offset: number; length: number}> = []
  for (let offset = 0; offset < e.size; offset += size) ranges.push({offset, length: Math.min(size, e.size - offset)})
  // the file's sha256, advanced only over bytes at its current end: re-reads (retries) add nothing
  const whole = createHash('sha256')
  let wholeAt = 0
  const addWhole = (at: number, chunk: Buffer) => {
    if (at > wholeAt || at + chunk.length <= wholeAt) return
    whole.update(at === wholeAt ? chunk : chunk.subarray(wholeAt - at))
    wholeAt = at + chunk.length
  }
  const inFlight = new Map<number, number>()
  const progress = () => {
    let n = 0
    for (const v of inFlight.values()) n += v
    onBytes(n)
  }
  const localBuf = Buffer.allocUnsafe(1 << 20)
  const checks: Array<Promise<boolean>> = []
  for (const [i, r] of ranges.entries()) {
    const had = usable ? prior.get(r.offset) : undefined
    if (had && had.length === r.length && had.size === e.size && (await localMd5(e, r, localBuf, addWhole, o.signal)) === had.md5) {
      result.resumedBytes += r.length
      inFlight.set(i, r.length)
      progress()
      continue
    }
    let sent!: () => void
    const stdinSent = new Promise<void>((resolve) => (sent = resolve))
    const check = sendRange(s, o, b, e, r, result, {
      onChunk: addWhole,
      onBytes: (n) => {
        inFlight.set(i, n)
        progress()
      },
      onSent: sent,
    })
    checks.push(check)
    try {
      await Promise.race([stdinSent, check])
    } catch {
      break // reported below, once the ranges already under way have settled
    }
  }
  onSent()
  const settled = await Promise.allSettled(checks)
  const failed = settled.find((x) => x.status === 'rejected')
  if (failed) throw (failed as PromiseRejectedResult).reason
  result.sentFiles += 1
  if (settled.some((x) => x.status === 'fulfilled' && !x.value) || wholeAt !== e.size) return [e]
  e.sha256 = whole.digest('hex')
  if (o.cache && e.mtimeMs !== undefined) o.cache.set(e.localPath, e.size, e.mtimeMs, e.sha256)
  const okf = shQuote(`${VERIFIED_DIR}/${b.id}`)
  await s.sh(`cd ${W} && printf '%s' ${shQuote(manifestLine(e.sha256, e.name))} > ${okf}.tmp && mv ${okf}.tmp ${okf}`, `recording ${e.name} as verified`)
  return []
}

/** One range of a large file: write it at its offset, hash it back; true once the pod's md5 matched (3 tries). */
async function sendRange(
  s: Stager,
  o: StreamOptions,
  b: Batch,
  e: HashedEntry,
  r: {offset: number; length: number},
  result: StreamResult,
  h: {onChunk: (at: number, chunk: Buffer) => void; onBytes: (n: number) => void; onSent: () => void},
): Promise<boolean> {
  const W = shQuote(s.o.paths.work)
  const F = shQuote(`./${e.name}`)
  const v5 = s.protocol === 'v5.channel.k8s.io'
  // v5 closes stdin at the end; v4 cannot, so there dd stops after exactly the range's bytes.
  // Damaged gzip data stops short, which the md5 check catches (compression only runs on v5).
  const put = `dd of=${F} bs=1M oflag=seek_bytes seek=${r.offset} conv=notrunc status=none`
  const write = b.compress ? `gzip -d -c | ${put}` : v5 ? put : `${put} iflag=fullblock,count_bytes count=${r.length}`
  // the md5 of what landed is recorded (tmp + rename) for a later run to resume from, and printed for this one
  const rec = shQuote(`${RANGES_DIR}/${rangeKey(e.name)}.${r.offset}`)
  const script = [
    'set -e',
    `cd ${W}`,
    write,
    `S=$(dd if=${F} bs=1M iflag=skip_bytes,count_bytes skip=${r.offset} count=${r.length} status=none | md5sum)`,
    'S=${S%% *}',
    `printf '%s %s %s %s %s\\n' "$S" ${r.offset} ${r.length} ${e.size} ${shQuote(e.name)} > ${rec}.tmp`,
    `mv ${rec}.tmp ${rec}`,
    'echo "$S"',
  ].join('\n')
  const what = rangeLabel(e, r)
  for (let attempt = 1; attempt <= 3; attempt++) {
    const meter = new StdinMeter(result, h.onBytes)
    let md5: string | undefined
    const x = await s.exec(script, `sending ${what}`, {
      stdin: () => {
        meter.restart()
        md5 = undefined
        const m = createHash('md5')
        const gen = (async function* () {
          let at = r.offset
          // a buffer per attempt (a retried range may read while the next one streams), back to the pool
          // once this attempt's reads are over (the exec pump copies each chunk before asking for the next)
          const buf = b.compress ? undefined : (rangeBuffers.pop() ?? Buffer.allocUnsafe(1 << 20))
          try {
            for await (const chunk of fileRange(e.localPath, r.offset, r.length, {buf, signal: o.signal})) {
              m.update(chunk)
              h.onChunk(at, chunk)
              at += chunk.length
              meter.file(chunk.length)
              yield chunk
            }
          } finally {
            if (buf && rangeBuffers.length < 8) rangeBuffers.push(buf)
          }
          md5 = m.digest('hex')
        })()
        return b.compress ? gzipped(gen) : gen
      },
      onStdinProgress: (n) => meter.wire(n),
      onStdinDone: h.onSent,
    })
    meter.restart()
    if (b.compress) result.compressed = true
    if (x.exitCode !== 0) throw remoteFailure(`writing ${what}`, o.namespace, s.pod, x)
    const got = /^([0-9a-f]{32})$/m.exec(x.stdout)?.[1]
    if (got && md5 && got === md5) return true
    if (attempt < 3) {
      o.onNote?.(`${what} failed the in-pod checksum; sending it again`)
      result.resentFiles += 1
    }
  }
  h.onSent()
  return false
}

/** Read buffers of finished range attempts, reused: a 10 GiB file would otherwise leave 80 MiB of garbage. */
const rangeBuffers: Buffer[] = []

/** A file name as a record file name (names may hold slashes and spaces). */
const rangeKey = (name: string) => createHash('sha1').update(name).digest('hex').slice(0, 20)

/** md5 of a local range (feeding the file's sha256 in order, like a send would). */
async function localMd5(e: HashedEntry, r: {offset: number; length: number}, buf: Buffer, onChunk: (at: number, chunk: Buffer) => void, signal?: AbortSignal): Promise<string> {
  const m = createHash('md5')
  let at = r.offset
  for await (const chunk of fileRange(e.localPath, r.offset, r.length, {buf, signal})) {
    m.update(chunk)
    onChunk(at, chunk)
    at += chunk.length
  }
  return m.digest('hex')
}

const rangeLabel = (e: HashedEntry, r: {offset: number; length: number}) => (r.length === e.size ? e.name : `${e.name} (bytes ${r.offset}–${r.offset + r.length})`)

/** Leave the resumable work dir (verified files) for the next run; drop the swap backup and our lock. */
export async function abandonStaging(t: ClusterTarget, namespace: string, pod: string, paths: StagingPaths): Promise<void> {
  await execInPod(t, {
    namespace,
    pod,
    container: STAGE_CONTAINER,
    command: ['/bin/sh', '-c', `rm -rf ${shQuote(paths.backup)}; if grep -q ${shQuote(`pod=${pod} `)} ${shQuote(paths.lock)} 2>/dev/null; then rm -f ${shQuote(paths.lock)}; fi`],
  }).catch(() => undefined)
}
