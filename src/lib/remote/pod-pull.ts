// Pulling objects into the client PVC from inside the cluster: a stage pod (the same pod a local push
// uses, plus the egress label) downloads presigned URLs with busybox wget and checks each object
// against what the store promised (size, sha256, MD5 or multipart ETag). The URLs travel on exec stdin
// only; this module never puts them in argv, env, the pod spec, an error or a log line.
import {execInPod} from '../cluster/exec.js'
import type {ClusterTarget} from '../cluster/kube.js'
import {CliError, ExitCode} from '../output/errors.js'
import {redact} from '../output/redact.js'
import {buildStagePod, STAGE_CONTAINER} from '../pvc/stage-pod.js'
import type {ObjectFacts} from './facts.js'
import {PULL_SCRIPT} from './pull-script.js'

/** Label of pods that need egress to an object store: what a NetworkPolicy allowing it selects on. */
export const EGRESS_LABEL = 'tracebloc.io/egress'
export const EGRESS_OBJECT_STORE = 'object-store'

type V1Pod = import('@kubernetes/client-node').V1Pod

export function buildPullPod(opts: Parameters<typeof buildStagePod>[0]): V1Pod {
  const pod = buildStagePod(opts)
  pod.metadata!.labels = {...pod.metadata!.labels, [EGRESS_LABEL]: EGRESS_OBJECT_STORE}
  return pod
}

export interface PullObject {
  /** Path under the destination directory (relative, `/`-separated). */
  dest: string
  url: string
  /** What the store promised; size is required, digests are checked when present. */
  facts: Pick<ObjectFacts, 'size' | 'etagKind' | 'md5' | 'etag' | 'checksums'>
  /** Part size of a multipart upload, to check its ETag (the ETag does not say it). */
  partSize?: number
  /** A sha256 the user vouches for (SHA256SUMS, --sha256). */
  sha256?: string
}

export type PullEvent =
  | {type: 'start'; index: number}
  | {type: 'retry'; index: number; reason: string}
  | {type: 'done'; index: number; bytes: number; sha256?: string}
  | {type: 'fail'; index: number; reason: string}
  | {type: 'inflight'; bytes: number}

export interface PullResult {
  done: number[]
  /** The sha256 the pod computed of each verified object (by index), when it reported one. */
  sha256: Map<number, string>
  failed: {index: number; reason: string}[]
  bytes: number
}

function checkDest(dest: string): void {
  if (!dest || dest.startsWith('/') || dest.split('/').some((s) => s === '..' || s === '.' || s === '') || /[\t\n\r\0]/.test(dest)) {
    throw new CliError(`unsafe destination path in the pull list: ${JSON.stringify(dest)}`, {exitCode: ExitCode.BAD_INPUT, reason: 'unsafe_path'})
  }
}

/** The job text the pod reads from stdin (see pull-script.ts). Exported for tests. */
export function pullJob(objects: PullObject[], caPem?: string, proxy?: Record<string, string>): string {
  const lines: string[] = []
  if (caPem) lines.push(`ca\t${Buffer.from(caPem).toString('base64')}`)
  // proxy settings may hold a password: stdin too, never the pod's env
  for (const [k, v] of Object.entries(proxy ?? {})) if (/^(https?|no)_proxy$/i.test(k) && !/[\s]/.test(v)) lines.push(`proxy\t${k.toLowerCase()}\t${v}`)
  objects.forEach((o, i) => {
    checkDest(o.dest)
    if (/[\s]/.test(o.url)) throw new CliError('a source URL contains white space', {exitCode: ExitCode.BAD_INPUT, reason: 'bad_source_url'})
    const sha = o.sha256 ?? o.facts.checksums.sha256 ?? '-'
    const md5 = o.facts.etagKind === 'md5' && o.facts.md5 ? o.facts.md5 : '-'
    const mp = o.facts.etagKind === 'multipart' && o.partSize ? o.facts.etag : '-'
    lines.push(['obj', i, o.facts.size, sha, md5, mp, mp === '-' ? '-' : o.partSize, o.dest, o.url].join('\t'))
  })
  return lines.join('\n') + '\n'
}

export function parsePullLine(line: string): PullEvent | undefined {
  const [kind, a, b] = line.trim().split(' ')
  const i = Number(a)
  if (kind === 'start' && Number.isInteger(i)) return {type: 'start', index: i}
  if (kind === 'retry' && Number.isInteger(i)) return {type: 'retry', index: i, reason: b ?? ''}
  if (kind === 'done' && Number.isInteger(i)) {
    const sha = line.trim().split(' ')[3]
    return {type: 'done', index: i, bytes: Number(b), ...(sha && /^[0-9a-f]{64}$/.test(sha) ? {sha256: sha} : {})}
  }
  if (kind === 'fail' && Number.isInteger(i)) return {type: 'fail', index: i, reason: b ?? ''}
  if (kind === 'inflight' && a !== undefined) return {type: 'inflight', bytes: Number(a)}
  return undefined
}

/**
 * Runs one pull in a Running stage pod: objects land in `destDir` (inside the pod, on the PVC), verified.
 * With `verifiedDir`, the pod also records `sha256  dest` of each verified object there (what the
 * staged copy's swap accepts as checked), so the manifest needs no second read of the pulled bytes.
 * Resolves with what was done and what failed; throws only when the exec itself fails.
 */
export async function pullIntoPod(t: ClusterTarget, o: {namespace: string; pod: string; destDir: string; objects: PullObject[]; caPem?: string; proxy?: Record<string, string>; parallel?: number; verifiedDir?: string; onEvent?: (e: PullEvent) => void; signal?: AbortSignal}): Promise<PullResult> {
  const job = Buffer.from(pullJob(o.objects, o.caPem, o.proxy))
  const script = Buffer.from(PULL_SCRIPT)
  const parallel = Math.max(1, Math.min(o.parallel ?? 4, 32))
  const result: PullResult = {done: [], sha256: new Map(), failed: [], bytes: 0}
  let pending = ''
  const onLine = (line: string) => {
    const ev = parsePullLine(line)
    if (!ev) return
    if (ev.type === 'done') {
      result.done.push(ev.index)
      result.bytes += ev.bytes
      if (ev.sha256) result.sha256.set(ev.index, ev.sha256)
    } else if (ev.type === 'fail') result.failed.push({index: ev.index, reason: ev.reason})
    o.onEvent?.(ev)
  }
  const r = await execInPod(t, {
    namespace: o.namespace,
    pod: o.pod,
    container: STAGE_CONTAINER,
    // the script itself travels on stdin ahead of the job: the exec request's URL stays short (API servers
    // and proxies cap it), and dd reads exactly its bytes (head -c may read past them into the job)
    command: ['/bin/sh', '-c', 's=$(dd bs=1 count="$1" 2>/dev/null) || exit 3; shift; eval "$s"', 'tb-pull', String(script.length), String(job.length), String(parallel), o.destDir, ...(o.verifiedDir ? [o.verifiedDir] : [])],
    stdin: (async function* () {
      yield script
      yield job
    })(),
    onStdout: (chunk) => {
      pending += chunk.toString('utf8')
      const lines = pending.split('\n')
      pending = lines.pop() ?? ''
      for (const l of lines) onLine(l)
    },
    signal: o.signal,
  })
  if (pending) onLine(pending)
  const reported = new Set([...result.done, ...result.failed.map((f) => f.index)])
  if (r.exitCode !== 0 && reported.size < o.objects.length) {
    throw new CliError(`the pull in stage pod ${o.namespace}/${o.pod} stopped (exit ${r.exitCode}): ${redact(r.stderr.trim().split('\n').at(-1) ?? '')}`, {exitCode: ExitCode.STAGING, reason: 'pull_failed'})
  }
  return result
}
