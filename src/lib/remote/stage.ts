// Staging a remote dataset: the stage pod pulls every object straight from the store into the same
// work dir, staged layout, manifest and atomic swap a local push uses (the ingestor and `dataset
// list/show/delete` see no difference). On top of the local protocol:
// - `.tb-source` in the work dir records `<etag>\t<size>\t<name>` of the objects the run pulls; a file in
//   the work dir survives to the next run (a cut, a killed CLI) only while its object is unchanged, so a
//   resumed run pulls only what is missing, and `wget -c` continues a partial download;
// - `.tracebloc-source` beside the manifest records the same for the staged copy, so a re-push skips
//   unchanged objects (hard-linked from the staged copy) and does nothing when none changed;
// - each object is checked against what the store promised (size, MD5 ETag, checksums) as it lands, and
//   the pod computes the sha256 of the verified bytes for the manifest in the same pass (files kept from
//   an interrupted run are hashed afterwards);
// - presigned URLs that expire (403) are signed again and those objects retried.
import {shQuote} from '../cluster/exec.js'
import type {ClusterTarget} from '../cluster/kube.js'
import {CliError, ExitCode} from '../output/errors.js'
import {checkStageableName, MANIFEST_NAME, manifestText} from '../staging/manifest.js'
import type {StagingPaths} from '../pvc/paths.js'
import type {TokenBucket} from '../staging/bandwidth.js'
import type {StreamOptions} from '../staging/types.js'
import {VERIFIED_DIR} from '../staging/work-dir.js'
import {smallTar, Stager, swapIntoPlace} from '../staging/stager.js'
import {classifyEtag} from './facts.js'
import {type RemoteDataset, type RemoteObject, sha256Mismatch} from './plan.js'
import {type PullEvent, pullIntoPod, type PullObject} from './pod-pull.js'
import {MAX_PRESIGN_SECONDS} from './s3.js'

/** Beside the manifest in the staged copy: which object version each file came from. */
export const SOURCE_NAME = '.tracebloc-source'
const WORK_SOURCE = '.tb-source'
/** The pull rate a presigned URL's lifetime is planned for; slower pulls get URLs signed again. */
const PLANNED_BYTES_PER_SECOND = 1024 * 1024

export interface RemoteProgress {
  files: number
  totalFiles: number
  bytes: number
  totalBytes: number
  skippedFiles: number
  bytesPerSecond: number
  etaSeconds?: number
  retries: number
}

export interface RemoteStageOptions {
  t: ClusterTarget
  namespace: string
  pod: string
  table: string
  paths: StagingPaths
  ds: RemoteDataset
  objects: RemoteObject[]
  /** CAs the pod trusts for the store (PEM text). */
  caPem?: string
  /** Proxy settings forwarded to the pod (name → value). */
  proxy?: Record<string, string>
  parallel?: number
  /** `--bwlimit`: the control uploads (lists, manifest) go through it. */
  bandwidth?: TokenBucket
  signal?: AbortSignal
  recreatePod?: () => Promise<string>
  onNote?: (s: string) => void
  onProgress?: (p: RemoteProgress) => void
  /** An https:// source as the cluster reaches it (origin only; the path and query stay the user's). */
  clusterEndpointUrl?: string
  /** Test knob: presigned URL lifetime in seconds. */
  expiresSeconds?: number
}

export interface RemoteStageResult {
  files: number
  bytes: number
  pulledFiles: number
  pulledBytes: number
  /** Unchanged since the staged copy (linked) or left verified by an earlier, interrupted run. */
  skippedFiles: number
  resumedFiles: number
  retries: number
  resigned: number
  swapped: boolean
  seconds: number
}

const version = (o: RemoteObject) => `${o.etag || '-'}\t${o.size}`

function parseSource(text: string): Map<string, string> {
  const m = new Map<string, string>()
  for (const line of text.split('\n')) {
    const a = line.indexOf('\t')
    const b = a < 0 ? -1 : line.indexOf('\t', a + 1)
    if (b > 0) m.set(line.slice(b + 1), line.slice(0, b))
  }
  return m
}

export async function stageRemote(o: RemoteStageOptions): Promise<RemoteStageResult> {
  const started = Date.now()
  for (const e of o.objects) {
    try {
      checkStageableName(e.stagedPath)
    } catch (error) {
      throw new CliError((error as Error).message, {exitCode: ExitCode.BAD_INPUT, reason: 'bad_file_name'})
    }
  }
  const s = new Stager({t: o.t, namespace: o.namespace, pod: o.pod, table: o.table, entries: [], paths: o.paths, recreatePod: o.recreatePod, signal: o.signal, onNote: o.onNote, bandwidth: o.bandwidth} as StreamOptions)
  const {dest, work, lock} = o.paths
  const W = shQuote(work)
  const D = shQuote(dest)
  const totalBytes = o.objects.reduce((a, e) => a + e.size, 0)
  const result: RemoteStageResult = {files: o.objects.length, bytes: totalBytes, pulledFiles: 0, pulledBytes: 0, skippedFiles: 0, resumedFiles: 0, retries: 0, resigned: 0, swapped: false, seconds: 0}
  const finish = () => ((result.retries += s.retries), (result.seconds = (Date.now() - started) / 1000), result)

  const state = await s.lockAndReadState()
  try {
    // 1. What the staged copy holds, by object version: unchanged objects are linked, not pulled.
    const destSource = state.dest ? parseSource(await s.sh(`cat ${shQuote(`${dest}/${SOURCE_NAME}`)} 2>/dev/null || :`, 'reading the staged copy', {capture: 1 << 30})) : new Map<string, string>()
    const known = new Map<string, string>() // name → sha256 already known
    const fromDest = o.objects.filter((e) => e.etag && destSource.get(e.stagedPath) === version(e) && state.dest?.get(e.stagedPath))
    for (const e of fromDest) known.set(e.stagedPath, state.dest!.get(e.stagedPath)!)
    result.skippedFiles = fromDest.length
    if (state.dest && fromDest.length === o.objects.length && state.dest.size === o.objects.length) {
      await s.sh(`rm -rf ${W}; rm -f ${shQuote(lock)}`, 'keeping the unchanged staged copy')
      return finish()
    }

    // 2. The work dir: files of changed or dropped objects go, unchanged ones are linked from the staged copy.
    const prep = smallTar([
      {name: '.tb-source-new', text: o.objects.map((e) => `${version(e)}\t${e.stagedPath}\n`).join('')},
      {name: '.tb-link', text: fromDest.map((e) => `${e.stagedPath}\n`).join('')},
    ])
    const split = `{ i = index($0, "\\t"); r = substr($0, i + 1); j = index(r, "\\t"); n = substr(r, j + 1); v = substr($0, 1, i + j - 1) }`
    const present = await s.sh(
      [
        'set -e',
        `mkdir -p ${W}`,
        `cd ${W}`,
        "nl=$(printf '\\nx')",
        'nl=${nl%x}',
        'find . -name "*$nl*" -prune -exec rm -rf {} +',
        'find . -type l -exec rm -f {} +',
        `head -c ${prep.size} | tar -x -f -`,
        `touch ${WORK_SOURCE}`,
        `find . -type f ! -name '.tb-*' ! -path './${VERIFIED_DIR}/*' | sed 's|^\\./||' > .tb-have`,
        // keep a file (or partial download) only when its object is the one recorded when it was pulled
        `awk 'FILENAME == ".tb-source-new" ${split} FILENAME == ".tb-source-new" { want[n] = v; next } FILENAME == "${WORK_SOURCE}" ${split} FILENAME == "${WORK_SOURCE}" { had[n] = v; next } { b = $0; sub(/\\.tbpart$/, "", b); if (!(b in want) || had[b] != want[b]) print }' .tb-source-new ${WORK_SOURCE} .tb-have | while IFS= read -r p; do rm -f "./$p"; done`,
        `while IFS= read -r p; do rm -f "./$p"; case "$p" in */*) mkdir -p "./\${p%/*}";; esac; ln ${D}/"$p" "./$p" 2>/dev/null || cp ${D}/"$p" "./$p"; done < .tb-link`,
        `mv .tb-source-new ${WORK_SOURCE}`,
        `rm -rf ${shQuote(VERIFIED_DIR)} .tb-have .tb-link`,
        `find . -type f ! -name '.tb-*' ! -name '*.tbpart' ! -path './${VERIFIED_DIR}/*' -exec stat -c '%s %n' {} +`,
      ].join('\n'),
      'preparing the work directory',
      {stdin: prep.stream, capture: 1 << 30},
    )
    const have = new Map<string, number>()
    for (const line of present.split('\n')) {
      const m = /^(\d+) \.\/(.+)$/.exec(line)
      if (m) have.set(m[2], Number(m[1]))
    }
    const linked = new Set(fromDest.map((e) => e.stagedPath))
    /** name → sha256 the pod computed while verifying the pull (it recorded them in the verified dir too) */
    const pulledSha = new Map<string, string>()
    const toPull = o.objects.filter((e) => !linked.has(e.stagedPath) && have.get(e.stagedPath) !== e.size)
    result.resumedFiles = o.objects.length - fromDest.length - toPull.length

    // 3. Pull what is missing, straight from the store, verified in the pod: first, does it fit?
    if (toPull.length > 0) {
      const need = toPull.reduce((a, e) => a + e.size, 0)
      // an archive lands whole, then unpacks whole beside itself (members the plan does not use too,
      // until they are dropped): both must fit before a byte is pulled
      const a = o.ds.archive
      await checkFreeSpace(s, work, a ? a.size + a.index.entries.reduce((n, e) => n + e.size, 0) : need)
      await (o.ds.archive ? pullArchive(o, s, toPull, result) : pullAll(o, s, toPull, result, pulledSha))
    }

    // 4. The sha256 of every verified file neither linked from the staged copy nor hashed by the pull, and its size.
    for (const [name, sha] of pulledSha) known.set(name, sha)
    const hashList = o.objects.filter((e) => !linked.has(e.stagedPath) && !pulledSha.has(e.stagedPath))
    const list = smallTar([
      {name: '.tb-hash', text: hashList.map((e) => `${e.stagedPath}\n`).join('')},
      {name: '.tb-keep', text: manifestText(fromDest.map((e) => ({name: e.stagedPath, sha256: known.get(e.stagedPath)})))},
    ])
    const hashed = await s.sh(
      [
        'set -e',
        `cd ${W}`,
        `head -c ${list.size} | tar -x -f -`,
        `mkdir -p ${shQuote(VERIFIED_DIR)}`,
        `mv .tb-keep ${shQuote(`${VERIFIED_DIR}/base`)}`,
        `while IFS= read -r p; do h=$(sha256sum "./$p"); z=$(stat -c %s "./$p"); printf '%s  %s\\n' "\${h%% *}" "$p" >> ${shQuote(`${VERIFIED_DIR}/remote`)}; echo "\${h%% *} $z $p"; done < .tb-hash`,
        'rm -f .tb-hash',
      ].join('\n'),
      'checking the pulled files',
      {stdin: list.stream, capture: 1 << 30},
    )
    const bySize = new Map(o.objects.map((e) => [e.stagedPath, e.size]))
    for (const line of hashed.split('\n')) {
      const m = /^([0-9a-f]{64}) (\d+) (.+)$/.exec(line)
      if (!m) continue
      if (bySize.get(m[3]) !== Number(m[2])) {
        throw new CliError(`${m[3]} is ${m[2]} bytes in the stage pod, the store listed ${bySize.get(m[3])}`, {exitCode: ExitCode.STAGING, reason: 'verify_failed', hint: 'the object changed during the push: run it again; nothing was submitted'})
      }
      known.set(m[3], m[1])
    }
    const missing = o.objects.filter((e) => !known.has(e.stagedPath))
    if (missing.length > 0) {
      throw new CliError(`${missing.length} file(s) did not arrive in the stage pod (${missing.slice(0, 3).map((e) => e.stagedPath).join(', ')})`, {exitCode: ExitCode.STAGING, reason: 'verify_failed', hint: 'run the push again: verified files are kept'})
    }

    // 5. Manifest and source record next to the staged copy, then the same atomic swap as a local push.
    const entries = o.objects.map((e) => ({name: e.stagedPath, sha256: known.get(e.stagedPath)}))
    const man = smallTar([
      {name: MANIFEST_NAME, text: manifestText(entries)},
      {name: SOURCE_NAME, text: o.objects.map((e) => `${version(e)}\t${e.stagedPath}\n`).join('')},
    ])
    await swapIntoPlace(s, o.table, man, 'pulled')
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

/** The PVC must hold what is about to be pulled (partial downloads counted as not yet there). */
async function checkFreeSpace(s: Stager, work: string, bytes: number): Promise<void> {
  // statfs through `stat -f` (free blocks × block size) needs no /proc/mounts; df is the fallback
  const W = shQuote(work)
  // of the deepest folder that exists (the work dir may not yet)
  const out = await s.sh(`d=${W}; while [ ! -d "$d" ] && [ -n "$d" ]; do d=\${d%/*}; done; [ -n "$d" ] || d=/; f=$(stat -f -c '%a %S' "$d" 2>/dev/null | awk '{ printf "%.0f", $1 * $2 / 1024 }'); [ -n "$f" ] || f=$(df -Pk "$d" | awk 'NR == 2 { print $4 }'); echo "$f"`, 'checking the free space on client-pvc')
  const free = Number(out.trim()) * 1024
  if (!Number.isFinite(free) || out.trim() === '' || free >= bytes) return
  const gib = (n: number) => `${(n / 1024 ** 3).toFixed(2)} GiB`
  throw new CliError(`client-pvc has ${gib(free)} free, the dataset needs ${gib(bytes)} more`, {exitCode: ExitCode.STAGING, reason: 'pvc_full', hint: 'free space on client-pvc or grow it, then push again; nothing was pulled'})
}

/** Presign, check the pod reaches the store, pull; expired URLs are signed again (twice at most). */
async function pullAll(o: RemoteStageOptions, s: Stager, toPull: RemoteObject[], result: RemoteStageResult, pulledSha: Map<string, string>): Promise<void> {
  const bytes = toPull.reduce((a, e) => a + e.size, 0)
  const expires = o.expiresSeconds ?? Math.min(MAX_PRESIGN_SECONDS, 900 + Math.ceil(bytes / PLANNED_BYTES_PER_SECOND))
  const sign = async (e: RemoteObject): Promise<PullObject> => {
    const b = o.ds.bucket
    const url = b ? await b.presignGet(e.key, expires) : inCluster(e.key, o.clusterEndpointUrl)
    const etag = b ? classifyEtag(e.etag) : {etag: e.etag, etagKind: 'opaque' as const}
    // a multipart ETag is checkable only with the part size, which only the store can tell
    const partSize = b && etag.etagKind === 'multipart' ? await b.partSize(e.key, e.size).catch(() => undefined) : undefined
    if (etag.etagKind === 'multipart' && !partSize) sizeOnly.add(e.stagedPath)
    return {dest: e.stagedPath, url, facts: {size: e.size, ...etag, checksums: {}}, partSize, sha256: b ? undefined : o.ds.sha256}
  }
  const sizeOnly = new Set<string>()
  let pending = toPull
  let objects = await Promise.all(pending.map(sign))
  if (sizeOnly.size > 0) o.onNote?.(`${sizeOnly.size} multipart object(s) are checked by size only: the store does not tell their part size, so their ETag cannot be recomputed (e.g. ${[...sizeOnly][0]})`)
  await checkReach(o, s, objects[0]!.url)
  const t0 = Date.now()
  let doneBytes = 0
  let doneFiles = 0
  for (let round = 0; ; round++) {
    const onEvent = (ev: PullEvent) => {
      if (ev.type === 'retry') result.retries++
      if (ev.type === 'done') {
        doneBytes += ev.bytes
        doneFiles++
      }
      const inflight = ev.type === 'inflight' ? ev.bytes : 0
      const sent = Math.min(bytes, doneBytes + inflight)
      const secs = (Date.now() - t0) / 1000
      const rate = secs > 0 ? sent / secs : 0
      o.onProgress?.({files: doneFiles, totalFiles: toPull.length, bytes: sent, totalBytes: bytes, skippedFiles: result.skippedFiles + result.resumedFiles, bytesPerSecond: rate, etaSeconds: rate > 0 ? (bytes - sent) / rate : undefined, retries: result.retries})
    }
    const r = await pullIntoPod(o.t, {namespace: o.namespace, pod: s.pod, destDir: o.paths.work, verifiedDir: `${o.paths.work}/${VERIFIED_DIR}`, objects, caPem: o.caPem, proxy: o.proxy, parallel: o.parallel ?? 4, onEvent, signal: o.signal})
    for (const [i, sha] of r.sha256) pulledSha.set(pending[i]!.stagedPath, sha)
    result.pulledFiles += r.done.length
    result.pulledBytes += r.bytes
    if (r.failed.length === 0) return
    const expired = r.failed.filter((f) => f.reason === 'http-403')
    if (expired.length === r.failed.length && round < 2 && o.ds.bucket) {
      // a URL that expired before its object was reached: sign it again and pull it
      result.resigned += expired.length
      o.onNote?.(`${expired.length} presigned URL(s) refused (expired?): signing them again`)
      pending = expired.map((f) => pending[f.index]!)
      objects = await Promise.all(pending.map(sign))
      continue
    }
    if (o.ds.sha256 && r.failed.some((f) => f.reason === 'mismatch')) throw sha256Mismatch(o.ds)
    throw pullFailure(r.failed.map((f) => ({name: pending[f.index]!.stagedPath, reason: f.reason})), o.ds.display)
  }
}

/** Work-dir name of a pulled archive: `.tb-*` names are the protocol's own and never swapped in. */
const ARCHIVE_EXT = {tar: 'tar', tgz: 'tar.gz', zip: 'zip'} as const

/**
 * An archive: the pod pulls it whole (checked against the sha256 this machine streamed, or the one the
 * user vouched for), lists and unpacks it with busybox, refuses anything but plain files and folders
 * under the root, and moves each member the plan names to its staged path. The archive and the unpacked
 * rest are removed, whatever happens.
 */
async function pullArchive(o: RemoteStageOptions, s: Stager, toPull: RemoteObject[], result: RemoteStageResult): Promise<void> {
  const a = o.ds.archive!
  const file = `.tb-archive.${ARCHIVE_EXT[a.kind]}`
  const url = inCluster(a.url, o.clusterEndpointUrl)
  const obj: PullObject = {dest: file, url, facts: {size: a.size, etag: '', etagKind: 'opaque', checksums: {}}, sha256: o.ds.sha256 ?? a.index.sha256}
  await checkReach(o, s, url)
  const t0 = Date.now()
  const onEvent = (ev: PullEvent) => {
    if (ev.type === 'retry') result.retries++
    const sent = ev.type === 'done' ? ev.bytes : ev.type === 'inflight' ? Math.min(a.size, ev.bytes) : undefined
    if (sent === undefined) return
    const secs = (Date.now() - t0) / 1000
    const rate = secs > 0 ? sent / secs : 0
    o.onProgress?.({files: 0, totalFiles: toPull.length, bytes: sent, totalBytes: a.size, skippedFiles: result.skippedFiles + result.resumedFiles, bytesPerSecond: rate, etaSeconds: rate > 0 ? (a.size - sent) / rate : undefined, retries: result.retries})
  }
  const r = await pullIntoPod(o.t, {namespace: o.namespace, pod: s.pod, destDir: o.paths.work, objects: [obj], caPem: o.caPem, proxy: o.proxy, parallel: 1, onEvent, signal: o.signal})
  if (r.failed.length > 0) {
    const why = r.failed[0]!.reason
    if (why === 'mismatch' && o.ds.sha256) throw sha256Mismatch(o.ds)
    if (why === 'mismatch') throw new CliError(`${o.ds.display} changed since it was checked on this machine (its size or sha256 differs in the stage pod)`, {exitCode: ExitCode.STAGING, reason: 'verify_failed', hint: 'push again once the archive stops changing; nothing was swapped in'})
    throw pullFailure([{name: o.ds.display, reason: why}], o.ds.display)
  }
  const map = smallTar([{name: '.tb-map', text: toPull.map((e) => `${e.key}\t${e.stagedPath}\n`).join('')}])
  const F = shQuote(file)
  // busybox unzip strips a leading ../ (saying so on stderr) from both its listing and what it writes
  const list = a.kind === 'zip' ? `unzip -l ${F} 2>.tb-lerr | sed -n '4,$p' | sed '$d' | sed '$d' | sed -E 's/^ *[0-9]+ +[0-9-]+ +[0-9:]+ +//'` : `tar -t${a.kind === 'tgz' ? 'z' : ''}f ${F}`
  const extract = a.kind === 'zip' ? `unzip -q -o ../${F}` : `tar -x${a.kind === 'tgz' ? 'z' : ''}f ../${F}`
  const un = await s.exec(
    [
      'set -u',
      `cd ${shQuote(o.paths.work)} || exit 1`,
      "T=$(printf '\t')",
      `head -c ${map.size} | tar -x -f - || exit 1`,
      `fail() { rm -rf .tb-unpack .tb-names .tb-map .tb-err .tb-lerr ${F}; echo "@@$1"; exit 9; }`,
      'rm -rf .tb-unpack && mkdir .tb-unpack || fail EXTRACT',
      // names first (the CLI checked the same bytes; this guards the pod on its own)
      `${list} > .tb-names || fail EXTRACT`,
      `if [ -f .tb-lerr ] && grep -q 'removing leading' .tb-lerr; then fail 'UNSAFE member paths that start with ../'; fi`,
      String.raw`bad=$(awk '/^\// || /(^|\/)\.\.(\/|$)/ { print; exit }' .tb-names); [ -z "$bad" ] || fail "UNSAFE \"$bad\" (outside the archive's root)"`,
      `(cd .tb-unpack && ${extract}) >/dev/null 2>.tb-err || fail "EXTRACT $(head -c 200 .tb-err | tr '\n' ' ')"`,
      'bad=$(find .tb-unpack ! -type f ! -type d | head -n 1); [ -z "$bad" ] || fail "UNSAFE \\"${bad#.tb-unpack/}\\" (a link, device or FIFO)"',
      'while IFS="$T" read -r m d; do [ -f ".tb-unpack/$m" ] || fail "MISSING $m"; case $d in */*) mkdir -p "./${d%/*}";; esac; mv -f ".tb-unpack/$m" "./$d" || fail EXTRACT; done < .tb-map',
      `rm -rf .tb-unpack .tb-names .tb-map .tb-err .tb-lerr ${F}`,
    ].join('\n'),
    'unpacking the archive in the stage pod',
    {stdin: map.stream, capture: 1 << 20},
  )
  const said = /@@(\w+) ?(.*)/.exec(un.stdout)
  if (said?.[1] === 'UNSAFE') throw new CliError(`${o.ds.display}: the archive the stage pod pulled holds ${said[2]}`, {exitCode: ExitCode.BAD_INPUT, reason: 'unsafe_archive', hint: 'repack it with regular files and folders only; nothing was swapped in'})
  if (said?.[1] === 'MISSING') throw new CliError(`${o.ds.display}: "${said[2]}" is not in the archive the stage pod pulled`, {exitCode: ExitCode.BAD_INPUT, reason: 'archive_member_missing', hint: 'the archive changed during the push: push again; nothing was swapped in'})
  if (said?.[1] === 'EXTRACT' || un.exitCode !== 0) throw new CliError(`the stage pod could not unpack ${o.ds.display}${said?.[2] ? `: ${said[2].trim()}` : ''}`, {exitCode: ExitCode.STAGING, reason: 'unpack_failed', hint: 'check the archive opens with tar/unzip; nothing was swapped in'})
  result.pulledFiles += toPull.length
  result.pulledBytes += a.size
}

function inCluster(url: string, origin?: string): string {
  if (!origin) return url
  const u = new URL(url)
  const o = new URL(origin)
  u.protocol = o.protocol
  u.host = o.host
  return u.href
}

function pullFailure(failed: Array<{name: string; reason: string}>, source: string): CliError {
  const by = (why: string) => failed.filter((f) => f.reason === why)
  const eg = (l: typeof failed) => `${l.slice(0, 3).map((f) => f.name).join(', ')}${l.length > 3 ? ` … and ${l.length - 3} more` : ''}`
  const resume = 'run the push again: verified files are kept and not pulled again'
  if (by('missing').length) return new CliError(`${by('missing').length} object(s) disappeared from ${source} during the push: ${eg(by('missing'))}`, {exitCode: ExitCode.BAD_INPUT, reason: 'no_such_key', hint: 'restore them or fix the CSV, then push again'})
  if (by('http-403').length) return new CliError(`the store refused s3:GetObject for ${by('http-403').length} object(s): ${eg(by('http-403'))}`, {exitCode: ExitCode.AUTH, reason: 'access_denied', hint: 'your credentials need s3:GetObject on these keys'})
  if (by('tls').length) return new CliError(`the stage pod does not trust the store's TLS certificate (${source})`, {exitCode: ExitCode.STAGING, reason: 'tls_untrusted', hint: 'pass the CA that signed it with --ca-bundle'})
  if (by('unreachable').length) return new CliError(`the stage pod lost its connection to the store (${source})`, {exitCode: ExitCode.STAGING, reason: 'store_unreachable', hint: resume})
  if (by('mismatch').length) return new CliError(`${by('mismatch').length} object(s) did not match what the store promised, twice: ${eg(by('mismatch'))}`, {exitCode: ExitCode.STAGING, reason: 'verify_failed', hint: 'an object changed during the push or the store returns corrupt data; ' + resume})
  return new CliError(`${failed.length} object(s) could not be pulled (${[...new Set(failed.map((f) => f.reason))].join(', ')}): ${eg(failed)}`, {exitCode: ExitCode.STAGING, reason: 'pull_failed', hint: resume})
}

/**
 * Before any transfer: can the stage pod open a TCP connection to the store (DNS, route, NetworkPolicy)?
 * Only the host and port go into the command line, never the URL.
 */
async function checkReach(o: RemoteStageOptions, s: Stager, url: string): Promise<void> {
  const u = new URL(url)
  const port = u.port || (u.protocol === 'https:' ? '443' : '80')
  const proxied = o.proxy && Object.keys(o.proxy).some((k) => /https?_proxy/i.test(k))
  if (proxied) return // the proxy, not the pod, reaches the store
  const host = u.hostname.replace(/^\[|\]$/g, '')
  if (!/^[A-Za-z0-9.:-]+$/.test(host)) return
  const r = await s.exec(`out=$(timeout 8 nc ${shQuote(host)} ${port} </dev/null 2>&1); rc=$?; echo "$out" | head -n 3; exit $rc`, 'checking the stage pod reaches the store', {capture: 1 << 16})
  const out = `${r.stdout}\n${r.stderr}`
  if (r.exitCode === 0 || r.exitCode === 124 || r.exitCode === 143) return // connected (nc waits for the server to close)
  const cause = /bad address|resolve/i.test(out) ? `cannot resolve ${host}` : /unreachable/i.test(out) ? `no route to ${host}:${port}` : /refused/i.test(out) ? `${host}:${port} refused the connection` : /timed out/i.test(out) ? `connecting to ${host}:${port} timed out` : `cannot connect to ${host}:${port}`
  throw new CliError(`the stage pod cannot reach the store: ${cause}`, {
    exitCode: ExitCode.STAGING,
    reason: 'store_unreachable',
    hint: `allow egress from pods labelled tracebloc.io/egress=object-store in ${o.namespace} to ${host}:${port} (NetworkPolicy), or pass --forward-proxy with HTTPS_PROXY set; nothing was pulled`,
  })
}

