// Copying the plan's files into the shared PVC, keeping the Go CLI's on-PVC protocol (docs/protocol.md#staging-layout:
// `.tracebloc-staging/<table>/`, `<table>.staging-*`/`.old-*` siblings swept after 60 min, atomic swap
// dest→backup, work→dest, rm backup) and adding, on top of it:
// - a content manifest (sha256 per file, hashed while the tar stream reads it) kept as a hidden file in the
//   staged root; a re-push sends only files whose hash differs and skips copy + swap when nothing changed;
// - batches over N parallel exec streams (how many: measured), each ending in checksum lines for its files:
//   the pod checks the bytes it wrote with `sha256sum -c` of the manifest lines themselves, or `md5sum -c`
//   where its sha256 is slow (pod-hash.ts asks the pod), and records the sha256 lines of the files that
//   pass; a failed file is re-sent, unverified data is never swapped in;
// - large files alone, without tar, in ranges that are retried (and resumed by a later run) one by one;
// - a persistent work dir `<table>.staging-resume` whose verified list survives a cut stream, a deleted stage
//   pod or a killed CLI, so the next attempt continues from the verified files;
// - a per-table lock (owner = stage pod) so concurrent pushes of one table fail clearly.
// Modules: types.ts (options, results), tuning.ts (sizes, thresholds), work-dir.ts (names in the work dir), stager.ts (the exec session, lock, state on the volume),
// batch.ts (tar batches), large-file.ts (ranges), file-hashes.ts (a file's hashes), stdin.ts (stdin meter, gzip).
import {createHash, randomBytes} from 'node:crypto'
import {readFile} from 'node:fs/promises'

import {ClusterTarget} from '../cluster/kube.js'
import {execInPod, shQuote} from '../cluster/exec.js'
import {CliError, ExitCode} from '../output/errors.js'
import {humanBytes} from '../output/format.js'
import {sendBatch} from './batch.js'
import {sendLargeFile} from './large-file.js'
import {MAX_STREAMS, StreamGovernor} from './parallelism.js'
import {checkStageableName, HashedEntry, isCompressible, makeBatches, MANIFEST_NAME, manifestLine, planStaging} from './manifest.js'
import {StagingPaths} from '../pvc/paths.js'
import {COMPRESS_BELOW_BYTES_PER_SECOND, COMPRESS_JUDGE_BYTES, COMPRESS_MIN_BYTES, DEFAULT_BATCH, DEFAULT_PARALLEL, defaultBatchBytes, STREAM_HASH_MIN_BYTES} from './tuning.js'
import type {Batch, StreamOptions, StreamResult} from './types.js'
import {RANGES_DIR, VERIFIED_DIR} from './work-dir.js'
import {smallTar, Stager, swapIntoPlace} from './stager.js'
import {STAGE_CONTAINER} from '../pvc/stage-pod.js'
import {checkReadWhole, LocalIdentity, openLocal} from './local-file.js'
import {fileRange} from './tar.js'
import {AckedRate} from './rate.js'

export {RESUME_SUFFIX, STAGING_ROOT, stagingPaths, type StagingPaths} from '../pvc/paths.js'
export * from './tuning.js'
export * from './types.js'
export * from './work-dir.js'

/**
 * Test knob (ignored unless set): TRACEBLOC_TEST_STAGE_PAUSE names a FIFO; staging waits here, after
 * preflight and before any file is read, until a test has opened the FIFO for writing and closed it (the
 * tests change dataset files in that moment).
 */
async function testPause(): Promise<void> {
  const fifo = process.env.TRACEBLOC_TEST_STAGE_PAUSE
  if (fifo) await readFile(fifo)
}

/** A file's sha256, read from the file preflight saw (local-file.ts). */
async function hashFile(e: LocalIdentity, signal?: AbortSignal): Promise<string> {
  const h = createHash('sha256')
  const fh = await openLocal(e)
  try {
    for await (const chunk of fileRange(fh, e, 0, e.size, {buf: Buffer.allocUnsafe(1 << 20), signal})) h.update(chunk)
    await checkReadWhole(fh, e)
  } finally {
    await fh.close()
  }
  return h.digest('hex')
}

/** Lock, plan, prepare the work dir, send batches in parallel (verified in-pod), check, write the manifest, swap. */
export async function stageFiles(o: StreamOptions): Promise<StreamResult> {
  const started = Date.now()
  const s = new Stager(o)
  const {dest, work, lock} = o.paths
  // the caller's entries themselves (a copy per file would be held for the whole push): staging records each
  // file's sha256 on them
  const entries: HashedEntry[] = o.entries
  for (const e of entries) {
    try {
      checkStageableName(e.name)
    } catch (error) {
      throw new CliError((error as Error).message, {exitCode: ExitCode.BAD_INPUT, reason: 'bad_file_name'})
    }
  }
  const totalBytes = entries.reduce((a, e) => a + e.size, 0)
  const result: StreamResult = {files: entries.length, bytes: totalBytes, skippedFiles: 0, skippedBytes: 0, sentBytes: 0, wireBytes: 0, sentFiles: 0, resentFiles: 0, resumedBytes: 0, keptFiles: 0, keptBytes: 0, batches: 0, retries: 0, parallel: 0, compressed: false, swapped: false, seconds: 0}
  const finish = () => {
    o.cache?.save()
    result.retries = s.retries
    result.protocol = s.protocol
    result.check = s.hash
    result.seconds = (Date.now() - started) / 1000
    return result
  }

  await testPause()
  // 1. Lock the table and read what the cluster already holds.
  const state = await s.lockAndReadState()
  try {
    // 2. Local hashes: cache hits are free; files the cluster may already hold are hashed now, the rest while sent.
    for (const e of entries) if (o.cache && e.mtimeMs !== undefined) e.sha256 = o.cache.get(e.localPath, e.size, e.mtimeMs)
    let plan = planStaging(entries, state.dest, state.verified, state.present)
    if (plan.needHash.length > 0) {
      const need = plan.needHash.reduce((a, e) => a + e.size, 0)
      let done = 0
      const t0 = Date.now()
      for (const e of plan.needHash) {
        e.sha256 = await hashFile(e, o.signal)
        if (o.cache && e.mtimeMs !== undefined) o.cache.set(e.localPath, e.size, e.mtimeMs, e.sha256)
        done += e.size
        const rate = done / Math.max(0.001, (Date.now() - t0) / 1000)
        o.onProgress?.({phase: 'hashing', bytes: done, totalBytes: need, sentBytes: done, files: 0, sentFiles: 0, totalFiles: plan.needHash.length, skippedFiles: 0, skippedBytes: 0, bytesPerSecond: rate, etaSeconds: (need - done) / rate, retries: s.retries})
      }
      plan = planStaging(entries, state.dest, state.verified, state.present)
    }
    const kept = [...plan.verified, ...plan.fromDest]
    // files an interrupted run left whole but unchecked: checked by sha256 in the pod while the work dir is prepared
    const landed = s.tools.has('sha256') ? plan.landed : []

    result.skippedFiles = kept.length
    result.skippedBytes = kept.reduce((a, e) => a + e.size, 0)
    if (plan.unchanged) {
      // Nothing changed: the staged copy stays as it is; drop a leftover work dir.
      await s.sh(`rm -rf ${shQuote(work)}; rm -f ${shQuote(lock)}`, 'keeping the unchanged staged copy')
      o.onProgress?.({phase: 'copying', bytes: 0, totalBytes: 0, sentBytes: 0, files: 0, sentFiles: 0, totalFiles: 0, skippedFiles: result.skippedFiles, skippedBytes: result.skippedBytes, bytesPerSecond: 0, etaSeconds: 0, retries: s.retries})
      return finish()
    }

    // 3. Prepare the work dir: keep verified files and partly sent large files whose ranges may still
    // serve, hard-link unchanged ones from the staged copy, drop the rest.
    for (const e of plan.send) {
      const r = state.ranges.get(e.name)
      if (r && [...r.values()].some((x) => x.size === e.size)) s.partial.set(e.name, r)
    }
    if (kept.length > 0 || state.workExists) {
      const tar = smallTar([
        {name: '.tb-keep', lines: () => manifestLines(kept)},
        {name: '.tb-link', lines: () => nameLines(plan.fromDest)},
        {name: '.tb-partial', text: [...s.partial.keys()].map((n) => `${n}\n`).join('')},
        {name: '.tb-check', lines: () => manifestLines(landed)},
      ])
      const W = shQuote(work)
      const D = shQuote(dest)
      const out = await s.sh(
        [
          'set -e',
          'FRESH=0',
          `if [ ! -d ${W} ]; then FRESH=1; if [ -d ${D} ] && [ ${plan.fromDest.length} -gt 0 ]; then cp -al ${D} ${W} 2>/dev/null || { rm -rf ${W}; cp -a ${D} ${W}; }; else mkdir -p ${W}; fi; fi`,
          `cd ${W}`,
          PURGE_FOREIGN,
          // control files of an earlier run go, the range records stay (checked against the data before use)
          `rm -rf ${shQuote(MANIFEST_NAME)}; for f in ./.tb-*; do [ "$f" = ./${RANGES_DIR} ] || rm -rf "$f"; done`,
          `head -c ${tar.size} | tar -x -f -`,
          // landed but unchecked files that hash to the local sha256 join the keep list (named back to the client)
          "if [ -s .tb-check ]; then sha256sum -c .tb-check 2>/dev/null | sed -n 's/: OK$//p' > .tb-ok; awk 'NR==FNR { ok[$0] = 1; next } (substr($0, 67) in ok)' .tb-ok .tb-check >> .tb-keep; echo '@@KEPT'; cat .tb-ok; fi",
          `find . -type f ! -path './${VERIFIED_DIR}/*' | sed 's|^\\./||' > .tb-have`,
          // remove everything that is neither kept nor one of our control files
          `awk 'FILENAME == ".tb-keep" { k[substr($0, 67)] = 1; next } FILENAME == ".tb-partial" { k[$0] = 1; next } !($0 in k) && $0 !~ /^\\.tb-/' .tb-keep .tb-partial .tb-have | while IFS= read -r p; do rm -f "./$p"; done`,
          // a resumed work dir: (re)link the unchanged files from the staged copy (unverified leftovers may sit there)
          `if [ $FRESH = 0 ]; then while IFS= read -r p; do rm -f "./$p"; case "$p" in */*) mkdir -p "./\${p%/*}";; esac; ln ${D}/"$p" "./$p" 2>/dev/null || cp ${D}/"$p" "./$p"; done < .tb-link; fi`,
          `rm -rf ${shQuote(VERIFIED_DIR)}; mkdir -p ${shQuote(VERIFIED_DIR)}`,
          `mv .tb-keep ${shQuote(`${VERIFIED_DIR}/base`)}`,
          'rm -f .tb-have .tb-link .tb-partial .tb-check .tb-ok',
          'find . -depth -type d -empty ! -name . -exec rmdir {} + 2>/dev/null || true',
          'touch .',
        ].join('\n'),
        'preparing the work directory',
        {stdin: tar.stream, capture: 1 << 30},
      )
      const at = out.indexOf('@@KEPT\n')
      const ok = new Set(at < 0 ? [] : out.slice(at + '@@KEPT\n'.length).split('\n'))
      const checked = landed.filter((e) => ok.has(e.name))
      if (checked.length > 0) {
        const keep = new Set(checked)
        plan.send = plan.send.filter((e) => !keep.has(e))
        kept.push(...checked)
        plan.verified.push(...checked)
      }
    }
    result.skippedFiles = kept.length
    result.skippedBytes = kept.reduce((a, e) => a + e.size, 0)
    result.keptFiles = plan.verified.length
    result.keptBytes = plan.verified.reduce((a, e) => a + e.size, 0)
    if (result.keptFiles > 0) o.onNote?.(`kept ${result.keptFiles} ${result.keptFiles === 1 ? 'file' : 'files'} (${humanBytes(result.keptBytes ?? 0)}) already on client-pvc from the interrupted run; sending the other ${plan.send.length}`)

    // 4. Send what differs, in batches over parallel streams, each verified in the pod.
    await sendAll(s, o, plan.send, result)

    // 5. Every file present with its size, nothing extra; re-send what is not (at most twice).
    const sendBytes = plan.send.reduce((a, e) => a + e.size, 0)
    o.onProgress?.({phase: 'verifying', bytes: sendBytes, totalBytes: sendBytes, sentBytes: sendBytes, files: plan.send.length, sentFiles: plan.send.length, totalFiles: plan.send.length, skippedFiles: result.skippedFiles, skippedBytes: result.skippedBytes, bytesPerSecond: 0, etaSeconds: 0, retries: s.retries})
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
    const man = smallTar([{name: MANIFEST_NAME, lines: () => manifestLines(entries)}])
    await swapIntoPlace(s, o.table, man, 'staged')
    result.swapped = true
    return finish()
  } catch (error) {
    finish()
    throw error
  } finally {
    if (!result.swapped) await s.release()
    s.forget()
  }
}

/** The swap script's exit code when a file about to be swapped in is not on the verified list. */

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

/**
 * In the work dir, before any file list is read line by line: remove what no push of ours puts there and
 * what could make a list lie. A name with a newline (never one of ours: checkStageableName) would forge
 * lines in `find` output that drive `rm`; a symlink would make a later write land elsewhere on the volume.
 * `find -exec` passes the names as arguments, never through a line-based list.
 */
const PURGE_FOREIGN = ["nl=$(printf '\\nx')", 'nl=${nl%x}', 'find . -name "*$nl*" -prune -exec rm -rf {} +', 'find . -type l -exec rm -f {} +'].join('\n')

/**
 * Every planned file in the work dir with its planned size, and nothing else there. The comparison runs in
 * the pod, so the client never holds a listing of every staged file: it sends `<size> <name>` lines, the pod
 * removes files not on them (names compared byte for byte), lists the sizes of the rest, and prints the
 * names of the planned files that are missing or of another size — names from our own list (no newline in
 * any: checkStageableName), never from the volume, so no file name can forge a line.
 */
async function checkTree(s: Stager, entries: HashedEntry[]): Promise<HashedEntry[]> {
  const want = smallTar([{name: '.tb-want', lines: () => sizedNameLines(entries)}])
  const files = `find . -type f ! -path './${VERIFIED_DIR}/*' ! -path './${RANGES_DIR}/*' ! -name '.tb-*'`
  const out = await s.sh(
    [
      'set -e',
      `cd ${shQuote(s.o.paths.work)}`,
      `head -c ${want.size} | tar -x -f -`,
      PURGE_FOREIGN,
      `${files} | sed 's|^\\./||' > .tb-have`,
      `awk 'FILENAME == ".tb-want" { k[substr($0, index($0, " ") + 1)] = 1; next } !($0 in k) && $0 != "${MANIFEST_NAME}"' .tb-want .tb-have | while IFS= read -r p; do rm -f "./$p"; done`,
      // through sh: busybox 1.37's xargs runs an applet like `stat` in its own process and, with thousands of
      // names, hands it corrupted ones; a child shell is exec'd normally
      `${files} -exec sh -c 'stat -c "%s %n" "$@"' sh {} + > .tb-sizes`,
      "echo '@@BAD'",
      `awk 'FILENAME == ".tb-want" { i = index($0, " "); w[substr($0, i + 1)] = substr($0, 1, i - 1); next } { i = index($0, " "); n = substr($0, i + 3); if ((n in w) && w[n] == substr($0, 1, i - 1)) delete w[n] } END { for (n in w) print n }' .tb-want .tb-sizes`,
      "echo '@@END'",
      'rm -f .tb-want .tb-have .tb-sizes',
    ].join('\n'),
    'checking the staged files',
    {stdin: want.stream, capture: 1 << 30},
  )
  const at = out.indexOf('@@BAD\n')
  const end = out.indexOf('@@END\n', at)
  if (at < 0 || end < 0) {
    throw new CliError('checking the staged files: the stage pod listed them inconsistently', {exitCode: ExitCode.STAGING, reason: 'staging_failed', hint: 'run the push again; nothing was submitted'})
  }
  const bad = new Set(out.slice(at + '@@BAD\n'.length, end).split('\n').filter(Boolean))
  return bad.size === 0 ? [] : entries.filter((e) => bad.has(e.name))
}

async function sendAll(s: Stager, o: StreamOptions, files: HashedEntry[], result: StreamResult): Promise<void> {
  if (files.length === 0) return
  const mode = o.compress ?? 'auto'
  // gzip's output length is unknown up front, so compressed batches rely on the v5 stdin close instead of
  // `head -c N` framing: compression is only used on v5 connections (learned from the first exec).
  const v5 = s.protocol === 'v5.channel.k8s.io'
  const canCompress = mode !== 'off' && v5
  if (mode === 'on' && !v5) o.onNote?.('--compress on: this API server speaks exec v4 only (no stdin close), sending uncompressed')
  // Text files may be gzipped: small ones in tar batches (`gzip -d | tar -x`), large ones alone, in ranges
  // (`gzip -d | dd`). Under auto the first batches go plain and measure the link before anything is gzipped.
  const bigEnough = o.streamHashMinBytes ?? STREAM_HASH_MIN_BYTES
  const smallBytes = files.reduce((a, e) => (e.size < bigEnough ? a + e.size : a), 0)
  const limits = {files: o.batch?.files ?? DEFAULT_BATCH.files, bytes: o.batch?.bytes ?? defaultBatchBytes(smallBytes)}
  // one pass, no set of every file: text apart from the rest
  let text: HashedEntry[] = []
  let rest: HashedEntry[] = files
  if (canCompress) {
    rest = []
    for (const e of files) (isCompressible(e.name) ? text : rest).push(e)
  }
  // a little text (labels.csv) does not pay for batches of its own
  if (mode === 'auto' && text.reduce((a, e) => a + e.size, 0) < COMPRESS_MIN_BYTES) {
    text = []
    rest = files
  }
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
  // streams: measured (parallelism.ts) unless --parallel pins them
  const streams = new StreamGovernor({start: DEFAULT_PARALLEL, max: MAX_STREAMS, pinned: o.parallel, cap: o.bandwidth})

  const toSend = files.reduce((a, e) => a + e.size, 0)
  const totalFiles = files.length
  let doneBytes = 0
  let doneFiles = 0
  const inflight = new Map<string, number>()
  // Files of in-flight batches whose bytes have all been sent (a batch's files travel in order).
  const inflightFiles = new Map<string, number>()
  // Progress counts what the pod acknowledged (a batch's files once it extracted and checked them); bytes
  // merely handed to the exec streams are shown apart (sentBytes). The rate is that of acknowledged bytes,
  // failed files included (they crossed the link), averaged over a window (rate.ts).
  const acked = new AckedRate()
  let deliveredBytes = 0
  // batches whose stdin is still streaming; none left with batches still out means the pod is verifying
  const streaming = new Set<string>()
  let lastReport = 0
  const report = (force = false) => {
    const now = Date.now()
    if (!force && now - lastReport < 200) return
    lastReport = now
    let fly = 0
    for (const v of inflight.values()) fly += v
    let flyFiles = 0
    for (const v of inflightFiles.values()) flyFiles += v
    acked.ack(deliveredBytes)
    const verifying = queue.length === 0 && streaming.size === 0 && inflight.size > 0
    o.onProgress?.({phase: verifying ? 'verifying' : 'copying', bytes: Math.min(toSend, doneBytes), totalBytes: toSend, sentBytes: Math.min(toSend, doneBytes + fly), files: doneFiles, sentFiles: Math.min(totalFiles, doneFiles + flyFiles), totalFiles, skippedFiles: result.skippedFiles, skippedBytes: result.skippedBytes, bytesPerSecond: acked.bytesPerSecond(), etaSeconds: acked.etaSeconds(toSend - doneBytes), retries: s.retries})
  }
  // the rate falls while nothing is acknowledged, and the line says so
  const ticker = setInterval(() => report(true), 1000)
  ticker.unref()

  // The link as one stream sees it: plain bytes delivered (extracted and checked in the pod, not merely
  // handed to a socket buffer) over the time each plain batch was under way (first byte to done, exec
  // start-up left out, summed over batches) — judged only once COMPRESS_JUDGE_BYTES arrived, so one slow
  // start on a busy machine does not decide it. Per stream, not in aggregate: on a link that caps each
  // connection, more streams add up, yet every stream still carries 4× more text gzipped.
  let plainDoneBytes = 0
  let plainStreamMs = 0
  // Tests pin the threshold (TRACEBLOC_TEST_COMPRESS_BELOW_BPS) so a decision never hangs on how fast a loaded machine is.
  const compressBelow = Number(process.env.TRACEBLOC_TEST_COMPRESS_BELOW_BPS) || COMPRESS_BELOW_BYTES_PER_SECOND
  const linkIsSlow = () => plainDoneBytes >= COMPRESS_JUDGE_BYTES && plainDoneBytes / Math.max(0.001, plainStreamMs / 1000) < compressBelow
  // Text reached before the judgement waits for the plain batches under way (their in-pod checks): with
  // several streams they all finish sending at once, before any of them counts as delivered.
  let plainInFlight = 0
  const plainDone: Array<() => void> = []
  const judgeLink = async () => {
    while (plainDoneBytes < COMPRESS_JUDGE_BYTES && plainInFlight > 0) await new Promise<void>((r) => plainDone.push(r))
    return linkIsSlow()
  }

  // Bytes handed over but not yet acknowledged by the pod are capped at an eighth of the push (at least two
  // batches): the end of a batch's stdin only means its bytes reached a socket buffer, and on a slow link
  // many batches would otherwise queue in those buffers, leaving the verified count (and a cut's loss) far
  // behind what was sent. The stream measurement then also sees no gain from streams the link cannot carry.
  const unackedCap = Math.max(2 * limits.bytes, Math.ceil(toSend / 8))
  let unacked = 0
  const ackWaiters: Array<() => void> = []

  // A batch holds a transfer slot only while its stdin streams; its in-pod checksum run then overlaps the
  // next batch's transfer. So `parallel` streams upload at once and as many more may be verifying.
  let busy = 0
  const slotWaiters: Array<() => void> = []
  const acquire = async () => {
    while (busy >= streams.limit) await new Promise<void>((r) => slotWaiters.push(r))
    busy++
    result.parallel = Math.max(result.parallel, busy)
  }
  const releaser = () => {
    let held = true
    return () => {
      if (!held) return
      held = false
      busy--
      slotWaiters.shift()?.()
    }
  }
  const workers: Array<Promise<void>> = []
  const addWorker = () =>
    workers.push(
      worker().catch((error) => {
        queue.length = 0
        throw error
      }),
    )
  const worker = async () => {
    for (;;) {
      // wait while the batches out (handed over, not yet acknowledged) already reach the cap
      while (queue.length > 0 && unacked > 0 && unacked + queue[0].bytes > unackedCap) await new Promise<void>((r) => ackWaiters.push(r))
      await acquire()
      const release = releaser()
      const b = queue.shift()
      if (!b) {
        release()
        return
      }
      unacked += b.bytes
      // auto: the first batches go plain and measure the link; text is gzipped once the link proves slow
      if (b.compress && mode === 'auto') b.compress = await judgeLink()
      if (!b.compress) plainInFlight++
      let plainSince = 0
      let counted = 0
      // files wholly sent so far, advanced as bytes grow (a retried attempt starts again from 0)
      let sentFiles = 0
      let sentFileBytes = 0
      streaming.add(b.id)
      const sent = () => {
        streaming.delete(b.id)
        release()
        report(true)
      }
      const send = b.files.length === 1 && b.files[0].size >= bigEnough ? sendLargeFile : sendBatch
      const failed = await send(s, o, b, result, (bytes) => {
        if (!b.compress && !plainSince) plainSince = Date.now()
        streams.add(bytes >= counted ? bytes - counted : bytes)
        if (bytes < counted) sentFiles = sentFileBytes = 0
        counted = bytes
        while (workers.length < 2 * streams.limit && queue.length > 0) addWorker() // a stream was added
        inflight.set(b.id, bytes)
        while (sentFiles < b.files.length && sentFileBytes + b.files[sentFiles].size <= bytes) sentFileBytes += b.files[sentFiles++].size
        inflightFiles.set(b.id, sentFiles)
        report()
      }, sent)
        .then((f) => {
          if (!b.compress) plainDoneBytes += b.bytes
          deliveredBytes += b.bytes
          return f
        })
        .finally(() => {
          if (plainSince) plainStreamMs += Date.now() - plainSince
          // once its bytes are booked (or it failed), text waiting on this plain batch may decide
          if (!b.compress) {
            plainInFlight--
            for (const w of plainDone.splice(0)) w()
          }
          inflight.delete(b.id)
          inflightFiles.delete(b.id)
          streaming.delete(b.id)
          unacked -= b.bytes
          for (const w of ackWaiters.splice(0)) w()
          release()
        })
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
  // Two workers per stream (one streaming, one verifying); one failing worker stops the others at their
  // next batch (shared queue emptied).
  for (let i = 0; i < 2 * streams.limit; i++) addWorker()
  let settled: Array<PromiseSettledResult<void>>
  try {
    do settled = await Promise.allSettled(workers)
    while (settled.length < workers.length)
  } finally {
    clearInterval(ticker)
  }
  const bad = settled.find((r) => r.status === 'rejected')
  if (bad) throw (bad as PromiseRejectedResult).reason
}

function* manifestLines(entries: Iterable<{name: string; sha256?: string}>): Generator<string> {
  for (const e of entries) yield manifestLine(e.sha256!, e.name)
}

function* nameLines(entries: Iterable<{name: string}>): Generator<string> {
  for (const e of entries) yield `${e.name}\n`
}

function* sizedNameLines(entries: Iterable<{name: string; size: number}>): Generator<string> {
  for (const e of entries) yield `${e.size} ${e.name}\n`
}

/** Leave the resumable work dir (verified files) for the next run; drop the swap backup and our lock. */
export async function abandonStaging(t: ClusterTarget, namespace: string, pod: string, paths: StagingPaths): Promise<void> {
  await execInPod(t, {
    namespace,
    pod,
    container: STAGE_CONTAINER,
    command: ['/bin/sh', '-c', `rm -rf ${shQuote(paths.backup)}; if grep -q ${shQuote(`pod=${pod} `)} ${shQuote(paths.lock)} 2>/dev/null; then rm -f ${shQuote(paths.lock)}; fi`],
  }).catch(() => undefined)
}

/** How many of `files` (in send order) are wholly within the first `bytes` file bytes. */
export function filesWithin(files: ReadonlyArray<{size: number}>, bytes: number): number {
  let acc = 0
  let n = 0
  for (const f of files) {
    acc += f.size
    if (acc > bytes) break
    n++
  }
  return n
}
