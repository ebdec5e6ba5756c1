// `tracebloc doctor`: every probe step as a named check (ok / warn / fail, a detail, the command that
// fixes it), all started at once; a check waits only for the steps it needs. The exit code is the
// one a push would fail with: the code of the first failing check in the order a push meets them.
import {describePermission, exitCodeFor, P, PermissionCheck, PUSH_PERMISSIONS} from '../cluster/rbac.js'
import {ClusterFlags} from '../cluster/kube.js'
import {DELETE_PERMISSIONS, OPTIONAL_PERMISSIONS, READ_PERMISSIONS} from '../catalog/permissions.js'
import {shortUid} from '../guard/identity.js'
import {CliError, ExitCode} from '../output/errors.js'
import {CANCEL_PERMISSIONS, LOGS_PERMISSIONS, RUNS_PERMISSIONS} from '../runs/permissions.js'
import {humanBytes} from '../output/format.js'
import {SCHEMA_SHA256} from '../schema/version.js'
import {describeCredential} from './credential.js'
import {Probe, SUPPORTED_MINORS} from './probe.js'
import {inspectSharedVolume, VolumeReport} from './volume.js'

export type CheckStatus = 'ok' | 'warn' | 'fail'

export interface Check {
  name: string
  status: CheckStatus
  detail: string
  /** The command (or step) that fixes it; set on every failure. */
  fix?: string
  /** The exit code a push would fail with here (failures only). */
  exit_code?: number
  /** A prerequisite failed, so this was not looked at. */
  skipped?: boolean
}

export interface DoctorReport {
  context?: string
  server?: string
  namespace?: string
  cluster_uid?: string
  checks: Check[]
  exit_code: number
}

/** The order a push meets these steps in; the first failing one decides the exit code. */
export const PUSH_ORDER = ['kubeconfig', 'api-server', 'release', 'client-pvc', 'rbac-push', 'jobs-manager', 'ingestor-token', 'mysql', 'stage-image', 'pvc-free-space']

/** Below these, a push will run out of room (fail) or may (warn). */
export const FREE_SPACE = {failBytes: 64 * 2 ** 20, warnBytes: 2 ** 30}

export interface DoctorOptions {
  cliVersion: string
  stageImage: string
  podTimeoutMs: number
  signal?: AbortSignal
}

class Skipped extends Error {}

export async function runDoctor(flags: ClusterFlags, o: DoctorOptions): Promise<{report: DoctorReport; probe: Probe}> {
  const probe = new Probe(flags, {prompts: false, signal: o.signal})
  // a prerequisite that failed: the check is shown as not looked at, not as a second failure
  const need = async <T>(step: () => Promise<T>, what: string): Promise<T> => {
    try {
      return await step()
    } catch {
      throw new Skipped(`not checked: ${what} failed`)
    }
  }
  const ns = async () => (await need(() => probe.release(), 'finding the client release')).namespace
  let volume: Promise<VolumeReport> | undefined
  const shared = () =>
    (volume ??= (async () => {
      const t = await need(() => probe.target(), 'kubeconfig')
      const rel = await need(() => probe.release(), 'finding the client release')
      await need(() => probe.pvc(), 'client-pvc')
      return inspectSharedVolume(t, {namespace: rel.namespace, serviceAccount: rel.ingestorSA, image: o.stageImage, timeoutMs: o.podTimeoutMs, signal: o.signal})
    })())
  const rbac = (key: string, perms: Array<ReturnType<typeof P>>, failing: boolean, exitCode: (m: PermissionCheck[]) => number) => async (): Promise<Omit<Check, 'name'>> => {
    const checks = await need(() => probe.permissions(key, perms), 'finding the client release')
    const missing = checks.filter((c) => !c.allowed)
    const namespace = await ns()
    if (missing.length === 0) return {status: 'ok', detail: `${checks.length} verbs allowed`}
    const first = missing[0]
    return {
      status: failing ? 'fail' : 'warn',
      detail: `missing ${[...new Set(missing.map(describePermission))].join(', ')}`,
      fix: `ask a cluster admin for these verbs in namespace ${namespace} (check: kubectl auth can-i ${first.verb} ${first.group ? `${first.resource}.${first.group}` : first.resource}${first.subresource ? ` --subresource=${first.subresource}` : ''} -n ${namespace})`,
      ...(failing ? {exit_code: exitCode(missing)} : {}),
    }
  }

  const checks: Array<[string, () => Promise<Omit<Check, 'name'>>]> = [
    ['cli', async () => ({status: 'ok', detail: `tracebloc ${o.cliVersion}, Node ${process.version} on ${process.platform}-${process.arch}`})],
    [
      'kubeconfig',
      async () => {
        const t = await probe.target()
        const cred = describeCredential(t)
        if (cred.expiredAt) {
          return {status: 'fail', detail: `context ${t.context}: ${cred.kind} expired at ${cred.expiredAt}`, fix: 'refresh your credentials (e.g. re-run your cloud provider login), then run doctor again', exit_code: ExitCode.LOCAL_ENV}
        }
        return {status: 'ok', detail: `context ${t.context} → ${t.server} (${cred.kind})`}
      },
    ],
    [
      'api-server',
      async () => {
        await need(() => probe.target(), 'kubeconfig')
        const v = await probe.server()
        if (!v.minor) return {status: 'warn', detail: 'reachable; its version is not readable by your user'}
        const inSkew = v.major === 1 && v.minor >= SUPPORTED_MINORS.min && v.minor <= SUPPORTED_MINORS.max
        return inSkew
          ? {status: 'ok', detail: `Kubernetes ${v.gitVersion}`}
          : {status: 'warn', detail: `Kubernetes ${v.gitVersion} is outside the versions this CLI supports (1.${SUPPORTED_MINORS.min}–1.${SUPPORTED_MINORS.max})`, fix: 'it may work; report problems with `tracebloc doctor --bundle support.tar.gz`'}
      },
    ],
    [
      'cluster-identity',
      async () => {
        await need(() => probe.server(), 'reaching the API server')
        const id = await need(() => probe.identity(), 'finding the client release')
        return id.source === 'kube-system'
          ? {status: 'ok', detail: `kube-system UID ${id.uid}, namespace ${id.namespace}`}
          : {status: 'warn', detail: `kube-system is not readable; identified by server and CA (${shortUid(id.uid)})`, fix: 'grant `get` on namespace kube-system so the wrong-cluster guard can tell clusters apart'}
      },
    ],
    [
      'release',
      async () => {
        await need(() => probe.server(), 'reaching the API server')
        const r = await probe.release()
        return {status: 'ok', detail: `${r.release} in ${r.namespace}, chart ${r.chartVersion || '?'}, app ${r.appVersion || '?'}`}
      },
    ],
    [
      'client-pvc',
      async () => {
        await ns()
        const p = await probe.pvc()
        return {status: 'ok', detail: `${p.phase} ${p.accessModes.join(',')} ${p.capacity ?? ''}`.trim()}
      },
    ],
    ['rbac-push', rbac('push', [...PUSH_PERMISSIONS], true, exitCodeFor)],
    ['rbac-list-show', rbac('read', [...READ_PERMISSIONS, ...OPTIONAL_PERMISSIONS], false, () => ExitCode.STAGING)],
    ['rbac-delete', rbac('delete', DELETE_PERMISSIONS, false, () => ExitCode.STAGING)],
    ['rbac-runs-logs-cancel', rbac('runs', [...RUNS_PERMISSIONS, ...LOGS_PERMISSIONS, ...CANCEL_PERMISSIONS], false, () => ExitCode.JOB)],
    [
      'jobs-manager',
      async () => {
        await ns()
        const j = await probe.jobsManager()
        const s = j.schema
        if (s?.schema_sha256 && s.schema_sha256 !== SCHEMA_SHA256) {
          return {status: 'warn', detail: `pod ${j.pod} Ready; validates with schema ${s.schema_version ?? '?'}, this CLI embeds another`, fix: 'upgrade the CLI or the client chart so both use the same ingest schema'}
        }
        return {status: 'ok', detail: `pod ${j.pod} Ready, schema ${s?.schema_version ?? 'not reported'}`}
      },
    ],
    [
      'ingestor-token',
      async () => {
        await ns()
        const tok = await probe.mintToken()
        // minted and dropped: a TokenRequest token is never stored, and it expires on its own in 10 minutes
        if (tok.source === 'secret') {
          return {status: 'warn', detail: `TokenRequest is not allowed; a push falls back to the static token Secret (sha256 ${tok.fingerprint})`, fix: `grant create on serviceaccounts/token for ServiceAccount ${tok.serviceAccount} in ${tok.namespace}`}
        }
        return {status: 'ok', detail: `TokenRequest for ${tok.namespace}/${tok.serviceAccount} minted and thrown away`}
      },
    ],
    [
      'mysql',
      async () => {
        await ns()
        const m = await probe.mysql()
        return {status: 'ok', detail: `pod ${m.pod} answers`}
      },
    ],
    [
      'stage-image',
      async () => {
        await shared()
        return {status: 'ok', detail: `${o.stageImage.split('@')[0]} pulled and started on client-pvc`}
      },
    ],
    [
      'pvc-free-space',
      async () => {
        const v = await need(shared, 'starting the stage image')
        if (v.error) return {status: 'warn', detail: `not checked: reading client-pvc in the stage pod failed (${v.error})`, skipped: true}
        if (v.freeBytes === undefined) return {status: 'warn', detail: 'free space not readable (df)'}
        const free = `${humanBytes(v.freeBytes)} free of ${humanBytes(v.totalBytes ?? 0)}`
        if (v.freeBytes < FREE_SPACE.failBytes) return {status: 'fail', detail: `client-pvc is full: ${free}`, fix: `free space on client-pvc (\`tracebloc dataset list\`, then \`tracebloc dataset delete <name>\`) or grow the volume`, exit_code: ExitCode.STAGING}
        if (v.freeBytes < FREE_SPACE.warnBytes) return {status: 'warn', detail: `client-pvc is nearly full: ${free}`, fix: 'free space or grow the volume before a large push'}
        return {status: 'ok', detail: free}
      },
    ],
    [
      'stage-pods',
      async () => {
        const namespace = await ns()
        const t = await probe.target()
        const {findOrphanStagePods} = await import('../pvc/stage-pod.js')
        const left = await findOrphanStagePods(t, namespace)
        if (left.length === 0) return {status: 'ok', detail: 'none left behind'}
        return {status: 'warn', detail: `${left.length} left behind: ${left.map((p) => `${p.name} (${p.phase})`).join(', ')}`, fix: `kubectl delete pod -n ${namespace} ${left.map((p) => p.name).join(' ')}`}
      },
    ],
    [
      'table-locks',
      async () => {
        const namespace = await ns()
        const v = await need(shared, 'starting the stage image')
        if (v.error) return {status: 'warn', detail: `not checked: reading client-pvc in the stage pod failed (${v.error})`, skipped: true}
        const t = await probe.target()
        const stale: string[] = []
        for (const l of v.locks) if (!l.holder || !(await podAlive(t, namespace, l.holder))) stale.push(l.table)
        if (stale.length === 0) return {status: 'ok', detail: v.locks.length ? `${v.locks.length} held by running ingestions` : 'none'}
        return {status: 'warn', detail: `stale lock(s) for ${stale.join(', ')}: the ingestor that took each is gone; they block the next push of that table for up to 12 h`, fix: `tracebloc dataset cancel ${stale[0]} -n ${namespace} --clear-lock --yes`}
      },
    ],
    [
      'staged-copies',
      async () => {
        const namespace = await ns()
        const v = await need(shared, 'starting the stage image')
        if (v.error) return {status: 'warn', detail: `not checked: reading client-pvc in the stage pod failed (${v.error})`, skipped: true}
        if (v.staged.length === 0) return {status: 'ok', detail: 'none'}
        const running = await runningTables(await probe.target(), namespace)
        const idle = v.staged.filter((s) => !running.has(s))
        if (idle.length === 0) return {status: 'ok', detail: `${v.staged.length} in use by running ingestions`}
        return {status: 'warn', detail: `${idle.length} without a run: ${idle.join(', ')} (the next push of that table reuses it)`, fix: `tracebloc dataset delete ${idle[0]} -n ${namespace} (removes the dataset too), or push ${idle[0]} again`}
      },
    ],
  ]

  const results = await Promise.all(
    checks.map(async ([name, run]): Promise<Check> => {
      try {
        return {name, ...(await run())}
      } catch (error) {
        if (error instanceof Skipped) return {name, status: 'warn', detail: error.message, skipped: true}
        if (error instanceof CliError) return {name, status: 'fail', detail: firstLine(error.message), fix: error.hint ?? 'rerun with --verbose', exit_code: error.exitCode}
        return {name, status: 'fail', detail: firstLine((error as Error).message), fix: 'rerun with --verbose and report it', exit_code: ExitCode.GENERIC}
      }
    }),
  )
  const report: DoctorReport = {checks: results, exit_code: exitCodeOf(results)}
  try {
    const t = await probe.target()
    Object.assign(report, {context: t.context, server: t.server, namespace: t.namespace})
    const id = await probe.identity()
    Object.assign(report, {namespace: id.namespace, cluster_uid: id.uid})
  } catch {
    // already reported by its check
  }
  return {report, probe}
}

export function exitCodeOf(checks: Check[]): number {
  const failed = checks.filter((c) => c.status === 'fail')
  if (failed.length === 0) return ExitCode.OK
  for (const name of PUSH_ORDER) {
    const c = failed.find((f) => f.name === name)
    if (c) return c.exit_code ?? ExitCode.GENERIC
  }
  return failed[0].exit_code ?? ExitCode.GENERIC
}

async function podAlive(t: import('../cluster/kube.js').ClusterTarget, namespace: string, name: string): Promise<boolean> {
  try {
    const p = await t.core.readNamespacedPod({name, namespace})
    return !['Succeeded', 'Failed'].includes(p.status?.phase ?? '')
  } catch {
    return false
  }
}

/** Tables of ingestion Jobs still running (a staged copy or lock they use is not left over). */
async function runningTables(t: import('../cluster/kube.js').ClusterTarget, namespace: string): Promise<Set<string>> {
  const {RUN_LABEL, TABLE_ANNOTATION} = await import('../runs/jobs.js')
  try {
    const jobs = await t.batch.listNamespacedJob({namespace, labelSelector: RUN_LABEL})
    return new Set(jobs.items.filter((j) => !j.status?.completionTime && !(j.status?.failed ?? 0)).map((j) => j.metadata?.annotations?.[TABLE_ANNOTATION] ?? '').filter(Boolean))
  } catch {
    return new Set()
  }
}

const firstLine = (s: string) => s.split('\n')[0]
