// Copying the plan's files into the shared PVC: tar over pods/exec into a per-run scratch directory,
// verify what landed, then swap it into place atomically — the Go CLI's protocol (GO-CLI.md §4.3), so
// both CLIs can take turns on one cluster. Transport, verification and swap are separate execs so a
// failure in any of them leaves the previous staged copy untouched.
import {randomBytes} from 'node:crypto'

import {SHARED_MOUNT} from '../cluster/discovery.js'
import {ExecStreamCut, execInPod, ExecRefused, shQuote} from '../cluster/exec.js'
import {ClusterTarget, sleep} from '../cluster/kube.js'
import {CliError, ExitCode} from '../output/errors.js'
import {STAGE_CONTAINER} from './stage-pod.js'
import {TarEntry, tarSize, tarStream} from './tar.js'

export const STAGING_ROOT = `${SHARED_MOUNT}/.tracebloc-staging`

export interface StagingPaths {
  root: string
  dest: string
  scratch: string
  backup: string
}

export function stagingPaths(table: string, runHex = randomBytes(4).toString('hex')): StagingPaths {
  const dest = `${STAGING_ROOT}/${table}`
  return {root: STAGING_ROOT, dest, scratch: `${dest}.staging-${runHex}`, backup: `${dest}.old-${runHex}`}
}

export interface StageProgress {
  bytes: number
  totalBytes: number
  files: number
  totalFiles: number
  bytesPerSecond: number
  etaSeconds?: number
  retries: number
}

export interface StreamOptions {
  t: ClusterTarget
  namespace: string
  pod: string
  table: string
  entries: TarEntry[]
  paths: StagingPaths
  signal?: AbortSignal
  onProgress?: (p: StageProgress) => void
  onNote?: (line: string) => void
  /** Attempts for a cut stream (each restarts into a fresh scratch dir). */
  attempts?: number
}

export interface StreamResult {
  files: number
  bytes: number
  tarBytes: number
  seconds: number
  retries: number
}

async function sh(o: StreamOptions, script: string, what: string): Promise<string> {
  let r
  try {
    r = await execInPod(o.t, {namespace: o.namespace, pod: o.pod, container: STAGE_CONTAINER, command: ['/bin/sh', '-c', script], signal: o.signal})
  } catch (error) {
    throw execError(error, o, what)
  }
  if (r.exitCode !== 0) {
    throw new CliError(`${what} failed in ${o.namespace}/${o.pod} (exit ${r.exitCode}): ${r.stderr.trim().split('\n').slice(-3).join(' | ') || 'no output'}`, {
      exitCode: ExitCode.STAGING,
      hint: r.stderr.includes('Permission denied') ? `the stage pod (uid 65532) cannot write ${STAGING_ROOT}; the PVC must be writable by that uid` : undefined,
      reason: 'staging_failed',
    })
  }
  return r.stdout
}

function execError(error: unknown, o: StreamOptions, what: string): Error {
  if (o.signal?.aborted) return o.signal.reason instanceof Error ? o.signal.reason : new Error('aborted')
  if (error instanceof CliError || error instanceof ExecStreamCut) return error
  if (error instanceof ExecRefused) {
    return new CliError(`${what}: the API server refused exec into ${o.namespace}/${o.pod} (HTTP ${error.status}: ${error.message})`, {
      exitCode: ExitCode.STAGING,
      hint: error.status === 403 ? 'your user needs `create` and `get` on pods/exec in the client namespace' : undefined,
      reason: error.status === 403 ? 'rbac_denied' : 'exec_refused',
    })
  }
  return new CliError(`${what}: ${(error as Error).message}`, {exitCode: ExitCode.STAGING, reason: 'staging_failed'})
}

/** Transfer, verify, swap. Retries a cut stream from a fresh scratch directory. */
export async function stageFiles(o: StreamOptions): Promise<StreamResult> {
  const started = Date.now()
  const totalBytes = o.entries.reduce((a, e) => a + e.size, 0)
  const tarBytes = tarSize(o.entries)
  const attempts = o.attempts ?? 4
  let retries = 0
  const {root, dest, scratch, backup} = o.paths

  for (let attempt = 1; ; attempt++) {
    await sh(o, `set -e; mkdir -p ${shQuote(root)}; rm -rf ${shQuote(scratch)}; mkdir -p ${shQuote(scratch)}`, 'preparing the scratch directory')
    let sentFiles = 0
    let sentBytes = 0
    const t0 = Date.now()
    const report = () => {
      const secs = (Date.now() - t0) / 1000
      const rate = secs > 0 ? sentBytes / secs : 0
      o.onProgress?.({bytes: sentBytes, totalBytes, files: sentFiles, totalFiles: o.entries.length, bytesPerSecond: rate, etaSeconds: rate > 0 ? (totalBytes - sentBytes) / rate : undefined, retries})
    }
    try {
      // `head -c N` frames the stream: tar sees EOF after exactly the archive even where the API
      // server cannot half-close stdin (exec protocol v4, servers before 1.30).
      const r = await execInPod(o.t, {
        namespace: o.namespace,
        pod: o.pod,
        container: STAGE_CONTAINER,
        command: ['/bin/sh', '-c', `set -e; head -c ${tarBytes} | tar -x -f - -C ${shQuote(scratch)}`],
        stdin: tarStream(o.entries, {
          signal: o.signal,
          onProgress: (p) => {
            sentBytes = p.fileBytes
            sentFiles = p.files
          },
        }),
        onStdinProgress: () => report(),
        signal: o.signal,
      })
      if (r.exitCode !== 0) {
        throw new CliError(`remote tar failed (exit ${r.exitCode}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`, {
          exitCode: ExitCode.STAGING,
          hint: r.stderr.includes('No space left') ? 'client-pvc is full: free space or grow the PVC' : undefined,
          reason: 'staging_failed',
        })
      }
      report()
      break
    } catch (error) {
      const e = execError(error, o, 'streaming files')
      if (e instanceof ExecStreamCut && attempt < attempts) {
        retries++
        o.onNote?.(`copy stream interrupted (${e.message}); retrying (${attempt}/${attempts - 1})`)
        await sleep(Math.min(500 * 2 ** (attempt - 1), 5000), o.signal)
        continue
      }
      if (e instanceof ExecStreamCut) throw new CliError(`copying files: ${e.message}`, {exitCode: ExitCode.STAGING, reason: 'stream_cut', hint: 'check the connection to the cluster and run the push again'})
      throw e
    }
  }

  await verifyLanded(o)
  await sh(
    o,
    [
      'set -e',
      `if [ -e ${shQuote(dest)} ]; then mv ${shQuote(dest)} ${shQuote(backup)}; fi`,
      `if ! mv ${shQuote(scratch)} ${shQuote(dest)}; then if [ -e ${shQuote(backup)} ]; then mv ${shQuote(backup)} ${shQuote(dest)}; fi; exit 1; fi`,
      `rm -rf ${shQuote(backup)}`,
      // Sweep leftovers of crashed runs for this table (older than an hour), like the Go CLI.
      `find ${shQuote(root)} -maxdepth 1 \\( -name ${shQuote(`${o.table}.staging-*`)} -o -name ${shQuote(`${o.table}.old-*`)} \\) -mmin +60 -exec rm -rf {} + 2>/dev/null || true`,
    ].join('\n'),
    'swapping the staged copy into place',
  )
  return {files: o.entries.length, bytes: totalBytes, tarBytes, seconds: (Date.now() - started) / 1000, retries}
}

/** Compare every landed file's size with the plan before anything is submitted. */
async function verifyLanded(o: StreamOptions): Promise<void> {
  const out = await sh(o, `cd ${shQuote(o.paths.scratch)} && find . -type f -exec stat -c '%s %n' {} +`, 'verifying the staged files')
  const landed = new Map<string, number>()
  for (const line of out.split('\n')) {
    const m = /^(\d+) \.\/(.*)$/.exec(line)
    if (m) landed.set(m[2], Number(m[1]))
  }
  const problems: string[] = []
  for (const e of o.entries) {
    const size = landed.get(e.name)
    if (size === undefined) problems.push(`${e.name} missing`)
    else if (size !== e.size) problems.push(`${e.name} is ${size} bytes, expected ${e.size}`)
  }
  if (landed.size !== o.entries.length && problems.length === 0) problems.push(`${landed.size} files landed, expected ${o.entries.length}`)
  if (problems.length > 0) {
    const shown = problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; … and ${problems.length - 5} more` : '')
    throw new CliError(`staged copy does not match the dataset: ${shown}`, {exitCode: ExitCode.STAGING, reason: 'verify_failed', hint: 'run the push again; nothing was submitted'})
  }
}

/** Remove this run's scratch directory (best effort; used on failure and interrupt). */
export async function removeScratch(t: ClusterTarget, namespace: string, pod: string, paths: StagingPaths): Promise<void> {
  await execInPod(t, {namespace, pod, container: STAGE_CONTAINER, command: ['/bin/sh', '-c', `rm -rf ${shQuote(paths.scratch)} ${shQuote(paths.backup)}`]}).catch(() => undefined)
}
