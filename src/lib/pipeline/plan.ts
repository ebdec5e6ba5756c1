// The dry run's plan: per file, what a push would send, skip as unchanged or gzip; the bytes on the wire;
// the checks that would run; and an ETA at a link rate measured by a short probe. Nothing is written:
// the staged copy's manifest is read and the probe's bytes are discarded inside the jobs-manager pod
// (it mounts client-pvc), so no pod is created. Without a reachable cluster the local half is shown
// and the parts that need the cluster are named.
import {createHash} from 'node:crypto'
import {createReadStream} from 'node:fs'
import path from 'node:path'
import {Readable} from 'node:stream'
import {createGzip} from 'node:zlib'

import type {ListrTask} from 'listr2'

import {execInPod, shQuote} from '../cluster/exec.js'
import type {SampleInfo} from '../local/index.js'
import {humanBytes, humanDuration} from '../output/format.js'
import {style} from '../output/style.js'
import {humanRate} from '../output/rate.js'
import {throttled, TokenBucket} from '../staging/bandwidth.js'
import {HashCache} from '../staging/hash-cache.js'
import {isCompressible, MANIFEST_NAME, parseManifest, planStaging, type HashedEntry} from '../staging/manifest.js'
import {stagingPaths} from '../pvc/paths.js'
import {COMPRESS_BELOW_BYTES_PER_SECOND, COMPRESS_MIN_BYTES, STREAM_HASH_MIN_BYTES} from '../staging/tuning.js'
import {PushContext, PushOptions, timed} from './context.js'

/** Bytes the link probe uploads (and the pod discards). Small on purpose: about a second on a slow office link. */
export const PROBE_BYTES = 4 << 20

export type FileAction = 'send' | 'unchanged'

export interface PlannedFile {
  name: string
  size: number
  /** `send` unless the staged copy holds the same content; without the cluster every file counts as sent. */
  action: FileAction
  /** Gzipped on the way (text files, by --compress and the measured link). */
  compressed: boolean
  /** Bytes this file puts on the wire (its gzip size when compressed; 0 when unchanged). */
  wire_bytes: number
}

export interface DryRunPlan {
  cluster: {reachable: boolean; error?: string; hint?: string; staged_copy?: boolean}
  /** What could not be planned without the cluster. */
  needs_cluster: string[]
  files: PlannedFile[]
  totals: {files: number; bytes: number; send_files: number; send_bytes: number; unchanged_files: number; unchanged_bytes: number; compressed_files: number; wire_bytes: number}
  checks: {local: string[]; cluster: string[]}
  ingest_config: Record<string, unknown>
  link?: {bytes_per_second: number; probe_bytes: number; seconds: number; method: string}
  /** `--bwlimit` (bytes per second): the ETA is at this rate when the link is faster. */
  bwlimit?: {bytes_per_second: number}
  /** Wire bytes at the measured rate of one stream (parallel streams may go faster), or at the cap when lower. */
  eta_seconds?: number
  sample?: SampleInfo
}

/** The cluster is out of reach (no kubeconfig, API server down): a dry run goes on with the local half. */
export function noClusterForDryRun(error: unknown): boolean {
  const e = error as {reason?: string; message?: string}
  if (e?.reason === 'api_unreachable') return true
  return e?.reason === 'kubeconfig' && /does not exist|no kubeconfig found|ENOENT|no such file/i.test(e.message ?? '')
}

/** The dry run's planning step (after connect); skipped on a real push. */
export function planStep(o: PushOptions): ListrTask<PushContext> {
  return {
    title: 'Plan the upload',
    enabled: () => o.dryRun,
    task: async (c, task) =>
      timed(c, 'stage', async () => {
        c.dryRunPlan = await dryRunPlan(o, c, (s) => (task.output = s))
        const p = c.dryRunPlan
        task.title = `Planned: send ${p.totals.send_files} of ${p.totals.files} files, ${humanBytes(p.totals.wire_bytes)} on the wire${p.eta_seconds === undefined ? '' : `, about ${humanDuration(p.eta_seconds)}`}${p.bwlimit ? ` (capped at ${humanRate(p.bwlimit.bytes_per_second)})` : ''}`
      }),
  }
}

export async function dryRunPlan(o: PushOptions, c: PushContext, status: (s: string) => void = () => {}): Promise<DryRunPlan> {
  const plan = c.plan!
  const entries: HashedEntry[] = plan.files.map((f) => ({localPath: f.localPath, name: f.stagedPath, size: f.size, mtimeMs: f.mtimeMs, dev: f.dev, ino: f.ino}))
  const reachable = Boolean(c.target && c.release && c.jobsManagerPod)
  const needs: string[] = []
  let dest: Map<string, string> | undefined
  let link: DryRunPlan['link']
  let v5 = true
  if (reachable) {
    const t = c.target!
    const ns = c.release!.namespace
    const pod = c.jobsManagerPod!
    // 1. The staged copy's manifest (written only after a verified swap), read-only.
    // both reads are advisory: a refused exec leaves that part of the plan unknown, and says so
    try {
      status('reading the staged copy')
      const man = `${stagingPaths(plan.table).dest}/${MANIFEST_NAME}`
      const r = await execInPod(t, {namespace: ns, pod, command: ['/bin/sh', '-c', `if [ -f ${shQuote(man)} ]; then echo @@DEST; cat ${shQuote(man)}; fi`], signal: o.signal, captureLimit: 1 << 30})
      v5 = r.protocol === 'v5.channel.k8s.io'
      if (r.exitCode === 0 && r.stdout.startsWith('@@DEST')) dest = parseManifest(r.stdout.slice('@@DEST\n'.length))
      // 2. The link: a few MiB through one exec stream, discarded in the pod.
      status(`measuring the link (${humanBytes(PROBE_BYTES)})`)
      link = await probeLink(o, c)
    } catch (error) {
      if (o.signal.aborted) throw error
      needs.push(`reading the staged copy and measuring the link in jobs-manager pod ${pod} failed (${(error as Error).message.split('\n')[0]}): every file is counted as sent, no ETA`)
    }
  } else {
    needs.push('which files the staged copy already holds (every file is counted as sent)', o.bwlimit ? 'the link rate (the ETA is at the --bwlimit cap)' : 'the link rate and the ETA', 'whether the dataset already exists', 'the release, client-pvc, permissions and jobs-manager checks')
  }

  // 3. Local hashes of the files the staged copy lists (as a push does before deciding).
  if (dest) {
    const cache = HashCache.load(o.plan.path)
    const need = entries.filter((e) => dest!.has(e.name))
    let done = 0
    for (const e of need) {
      e.sha256 = cache.get(e.localPath, e.size, e.mtimeMs!) ?? (await sha256(e.localPath))
      cache.set(e.localPath, e.size, e.mtimeMs!, e.sha256)
      if (++done % 100 === 0) status(`hashing files the staged copy holds: ${done}/${need.length}`)
    }
    cache.save()
  }
  const decided = planStaging(entries, dest, undefined)
  const unchanged = new Set([...decided.fromDest, ...decided.verified].map((e) => e.name))

  // 4. Compression, as the push would decide it: text files, under auto only on a link slower than the threshold.
  const mode = o.compress ?? 'auto'
  const sending = entries.filter((e) => !unchanged.has(e.name))
  let text = mode !== 'off' && v5 ? sending.filter((e) => isCompressible(e.name)) : []
  if (mode === 'auto') {
    const slow = link !== undefined && link.bytes_per_second < (Number(process.env.TRACEBLOC_TEST_COMPRESS_BELOW_BPS) || COMPRESS_BELOW_BYTES_PER_SECOND)
    if (!slow || text.reduce((a, e) => a + e.size, 0) < COMPRESS_MIN_BYTES) text = []
  }
  const gz = new Set(text.map((e) => e.name))
  if (gz.size > 0) status(`gzipping ${gz.size} text file(s) to count their wire bytes`)
  const files: PlannedFile[] = []
  for (const e of entries) {
    const action: FileAction = unchanged.has(e.name) ? 'unchanged' : 'send'
    const compressed = gz.has(e.name)
    const body = action === 'unchanged' ? 0 : compressed ? await gzipSize(e.localPath) : e.size
    // small files travel in tar batches (a 512-byte header, padding to 512); large ones alone, raw
    const framing = action === 'send' && e.size < STREAM_HASH_MIN_BYTES ? 512 + ((512 - (e.size % 512)) % 512) : 0
    files.push({name: e.name, size: e.size, action, compressed, wire_bytes: body + framing})
  }
  const sum = (xs: PlannedFile[], k: 'size' | 'wire_bytes') => xs.reduce((a, f) => a + f[k], 0)
  const sent = files.filter((f) => f.action === 'send')
  const kept = files.filter((f) => f.action === 'unchanged')
  const totals = {
    files: files.length,
    bytes: sum(files, 'size'),
    send_files: sent.length,
    send_bytes: sum(sent, 'size'),
    unchanged_files: kept.length,
    unchanged_bytes: sum(kept, 'size'),
    compressed_files: files.filter((f) => f.compressed).length,
    wire_bytes: sum(files, 'wire_bytes'),
  }
  return {
    cluster: {reachable, ...(c.clusterUnreachable ?? {}), ...(reachable ? {staged_copy: dest !== undefined} : {})},
    needs_cluster: needs,
    files,
    totals,
    checks: checksFor(plan.category, plan.family),
    ingest_config: plan.config,
    ...(link ? {link} : {}),
    ...(o.bwlimit ? {bwlimit: {bytes_per_second: o.bwlimit}} : {}),
    ...(etaRate(link, o.bwlimit) ? {eta_seconds: Math.round(totals.wire_bytes / etaRate(link, o.bwlimit)!)} : {}),
    ...(plan.sample ? {sample: plan.sample} : {}),
  }
}

/** The rate the ETA is at: the measured link, the cap when that is lower, or the cap alone without a link. */
function etaRate(link: DryRunPlan['link'], cap: number | undefined): number | undefined {
  if (!link) return cap
  return Math.max(1, cap ? Math.min(cap, link.bytes_per_second) : link.bytes_per_second)
}

/** One exec uploading PROBE_BYTES into `head -c N > /dev/null`, timed from the first byte sent to the command's end. */
async function probeLink(o: PushOptions, c: PushContext): Promise<DryRunPlan['link']> {
  const chunk = Buffer.alloc(256 << 10, 0x5a)
  const stdin = Readable.from((function* () { for (let n = 0; n < PROBE_BYTES; n += chunk.length) yield chunk })())
  let t0 = 0
  const r = await execInPod(c.target!, {
    namespace: c.release!.namespace,
    pod: c.jobsManagerPod!,
    command: ['/bin/sh', '-c', `head -c ${PROBE_BYTES} > /dev/null && echo done`],
    // the probe is bytes sent from this machine too: under --bwlimit it stays within the cap
    stdin: o.bwlimit ? throttled(stdin, new TokenBucket(o.bwlimit)) : stdin,
    onStdinProgress: () => (t0 ||= performance.now()),
    signal: o.signal,
  })
  const seconds = Math.max(0.001, (performance.now() - (t0 || performance.now())) / 1000)
  if (r.exitCode !== 0) return undefined
  return {bytes_per_second: Math.round(PROBE_BYTES / seconds), probe_bytes: PROBE_BYTES, seconds: Math.round(seconds * 1000) / 1000, method: 'one exec stream into the jobs-manager pod, discarded there'}
}

async function sha256(file: string): Promise<string> {
  const h = createHash('sha256')
  for await (const b of createReadStream(file)) h.update(b as Buffer)
  return h.digest('hex')
}

/** The gzip size at the level the push uses (level 1). */
async function gzipSize(file: string): Promise<number> {
  let n = 0
  for await (const b of createReadStream(file).pipe(createGzip({level: 1}))) n += (b as Buffer).length
  return n
}

function checksFor(category: string, family: string): DryRunPlan['checks'] {
  const local = ['CSV: UTF-8, header, unique column names, row widths', 'ingest config against the ingest schema']
  if (family === 'image') local.push('every image decoded (header) at one resolution and one extension', 'filename references exist in images/')
  if (category === 'object_detection') local.push('annotations/: Pascal VOC XML, paired with images')
  if (category === 'semantic_segmentation') local.push('masks/: <stem>_mask.png paired with images, same resolution')
  if (category === 'keypoint_detection') local.push('keypoint Annotation/Visibility JSON per row')
  if (family === 'text') local.push('referenced text files exist, record format per task')
  if (family === 'tabular') local.push('column types inferred or checked per value (--schema)', 'label values')
  if (/classification/.test(category)) local.push('label column with at least 2 classes')
  return {
    local,
    cluster: [
      'tracebloc client release, client-pvc, RBAC permissions, jobs-manager ready',
      'the destination dataset does not exist yet (or --overwrite)',
      'jobs-manager schema version against this CLI',
      'every file checksummed in the stage pod as it lands (sha256 or md5), then sizes of the staged tree',
      'jobs-manager validates the ingest config; the ingestor runs its own validators',
    ],
  }
}

/** How many files the plan lists one by one before summarising per folder. */
const SCREENFUL = 40

/** The plan's lines for humans (the --json document carries everything). */
export function dryRunLines(p: DryRunPlan | undefined): string[] {
  if (!p) return []
  const out: string[] = []
  const tag = (f: PlannedFile) => (f.action === 'unchanged' ? style.dim('unchanged') : f.compressed ? 'send gzip' : 'send     ')
  if (p.files.length <= SCREENFUL) {
    out.push('  files:')
    for (const f of p.files) out.push(`    ${tag(f)}  ${f.name} (${humanBytes(f.size)}${f.compressed ? ` → ${humanBytes(f.wire_bytes)}` : ''})`)
  } else {
    out.push(`  files (${p.files.length}, per folder; --json lists each):`)
    const by = new Map<string, {n: number; bytes: number; send: number; unchanged: number; gz: number}>()
    for (const f of p.files) {
      const dir = f.name.includes('/') ? `${path.posix.dirname(f.name)}/` : f.name
      const g = by.get(dir) ?? {n: 0, bytes: 0, send: 0, unchanged: 0, gz: 0}
      g.n++
      g.bytes += f.size
      if (f.action === 'send') g.send++
      else g.unchanged++
      if (f.compressed) g.gz++
      by.set(dir, g)
    }
    for (const [d, g] of by) out.push(`    ${d}  ${g.n} files (${humanBytes(g.bytes)}): ${g.send} to send${g.unchanged ? `, ${g.unchanged} unchanged` : ''}${g.gz ? `, ${g.gz} gzipped` : ''}`)
  }
  const t = p.totals
  out.push(`  transfer   send ${t.send_files} files (${humanBytes(t.send_bytes)})${t.unchanged_files ? `, ${t.unchanged_files} unchanged (${humanBytes(t.unchanged_bytes)})` : ''}${t.compressed_files ? `, ${t.compressed_files} gzipped` : ''}; about ${humanBytes(t.wire_bytes)} on the wire`)
  const capped = p.bwlimit !== undefined && (!p.link || p.bwlimit.bytes_per_second < p.link.bytes_per_second)
  if (p.link) out.push(`  link       ${humanBytes(p.link.bytes_per_second)}/s measured (${humanBytes(p.link.probe_bytes)} probe, ${p.link.method})${capped ? '' : ` → ETA about ${humanDuration(p.eta_seconds ?? 0)} for one stream`}`)
  if (p.bwlimit) out.push(`  cap        ${humanRate(p.bwlimit.bytes_per_second)} (--bwlimit, all streams together)${capped ? ` → ETA about ${humanDuration(p.eta_seconds ?? 0)}` : ': the link is slower'}`)
  out.push('  checks     ' + p.checks.local.join('; ') + style.dim(' (done)'))
  out.push('  then       ' + p.checks.cluster.join('; '))
  if (!p.cluster.reachable) {
    out.push(`  ${style.yellow('cluster')}    not reachable${p.cluster.error ? `: ${p.cluster.error}` : ''}`)
    out.push(`  needs the cluster: ${p.needs_cluster.join('; ')}`)
    if (p.cluster.hint) out.push(`  ${style.dim('→')} ${p.cluster.hint}`)
  } else if (p.cluster.staged_copy === false) {
    out.push(`  ${style.dim('no staged copy of this table yet: every file is sent')}`)
  }
  return out
}

/** A --sample push says so, with what it kept and the command for the whole dataset. */
export function sampleLines(s: SampleInfo | undefined, full: string | undefined): string[] {
  if (!s) return []
  const by = s.stratifiedBy ? `stratified by ${s.stratifiedBy}, ${Object.keys(s.labels ?? {}).length} labels kept` : 'uniform'
  const files = Object.entries(s.files).map(([d, n]) => `${n} ${d}/`).join(', ')
  return [`  ${style.yellow('sample')}     ${s.records} of ${s.of} records (${by}; seed ${s.seed})${files ? `; ${files}` : ''}`, ...(full ? [`  full push  ${full}`] : [])]
}

/** The command line for the whole dataset: the same arguments without --sample/--seed, into the full table. */
export function fullPushCommand(bin: string, argv: readonly string[], table: string): string {
  const out: string[] = []
  let overwrite = false
  const full = table.replace(/_sample$/, '')
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined]
    if (flag === '--sample' || flag === '--seed') {
      if (inline === undefined) i++
      continue
    }
    if (flag === '--table' || flag === '--name') {
      if (inline === undefined) i++
      out.push('--table', full)
      continue
    }
    if (flag === '--dry-run') continue // the command is for the real push
    if (flag === '--overwrite') overwrite = true
    out.push(a)
  }
  // into the same table the sample went to: the full push replaces it
  if (full === table && !overwrite) out.push('--overwrite')
  return [bin, ...out.map(shellWord)].join(' ')
}

function shellWord(s: string): string {
  return /^[\w@%+=:,./~-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`
}
