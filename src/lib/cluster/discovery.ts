// Finding the tracebloc "client" Helm release (docs/protocol.md#discovery): the same recipe as the
// Go CLI so both tools agree on which release they target.
import {load as loadYaml} from 'js-yaml'

import {canPrompt} from '../process/input.js'
import {CliError, ExitCode} from '../output/errors.js'
import {apiFailure, ClusterTarget, unreachable, withApiRetry} from './kube.js'

export const RELEASE_SELECTOR = 'app.kubernetes.io/name=client,app.kubernetes.io/managed-by=Helm'
export const SHARED_PVC = 'client-pvc'
export const JOBS_MANAGER_PORT = 8080
export const DEFAULT_INGESTOR_SA = 'ingestor'

export interface ClientRelease {
  namespace: string
  release: string
  chartVersion: string
  appVersion: string
  deployment: string
  /** INGESTOR_IMAGE_DIGEST on containers[0]; display only. */
  ingestorDigest?: string
  service: {name: string; selector: Record<string, string>}
  ingestorSA: string
  /** Set when the release was found by the cluster-wide fallback scan. */
  note?: string
}

type Deployment = import('@kubernetes/client-node').V1Deployment

function isJobsManager(d: Deployment): boolean {
  const name = d.metadata?.name ?? ''
  return name === 'jobs-manager' || name.endsWith('-jobs-manager')
}

export async function discoverRelease(t: ClusterTarget, signal?: AbortSignal): Promise<ClientRelease> {
  let found: Deployment[]
  try {
    const list = await withApiRetry(() => t.apps.listNamespacedDeployment({namespace: t.namespace, labelSelector: RELEASE_SELECTOR}), {signal})
    found = list.items.filter(isJobsManager)
  } catch (error) {
    const f = apiFailure(error)
    if (f.code === 0) throw unreachable(t, f)
    if (f.code === 401) {
      throw new CliError(`the API server rejected your credentials (context "${t.context}"): ${f.message}`, {
        exitCode: ExitCode.LOCAL_ENV,
        hint: 'refresh your kubeconfig credentials (e.g. re-run your cloud provider login), then retry',
        reason: 'unauthorized',
      })
    }
    throw new CliError(`listing deployments in namespace "${t.namespace}": ${f.message}`, {
      exitCode: ExitCode.NO_CLIENT,
      hint: 'your user needs `list` on deployments in that namespace to find the tracebloc client',
      reason: f.code === 403 ? 'rbac_denied' : 'discovery_failed',
    })
  }
  let note: string | undefined
  if (found.length === 0 && !t.explicit) {
    // Not told where to look: scan the cluster once, like the Go CLI, and say where we went.
    try {
      const all = await withApiRetry(() => t.apps.listDeploymentForAllNamespaces({labelSelector: RELEASE_SELECTOR}), {signal})
      const hits = all.items.filter(isJobsManager)
      if (hits.length === 1) {
        const ns = hits[0].metadata!.namespace!
        // Acting on another namespace is the user's decision: asked on a terminal, refused off one.
        await confirmNamespaceSwitch(t, ns)
        note = `No client in namespace "${t.namespace}" — using the one in "${ns}" (as you confirmed; next time pass -n ${ns}).`
        t.namespace = ns
        found = hits
      } else if (hits.length > 1) {
        const where = hits.map((d) => `${d.metadata?.namespace}/${d.metadata?.labels?.['app.kubernetes.io/instance']}`).join(', ')
        throw new CliError(`found ${hits.length} tracebloc clients in this cluster (${where})`, {
          exitCode: ExitCode.NO_CLIENT,
          hint: 'pick one with --namespace <ns>',
          reason: 'multiple_clients',
        })
      }
    } catch (error) {
      if (error instanceof CliError) throw error
      // A forbidden cluster-wide scan is optional: the original "not found" stands.
    }
  }
  if (found.length === 0) {
    throw new CliError(`no tracebloc client found in namespace "${t.namespace}" (context "${t.context}")`, {
      exitCode: ExitCode.NO_CLIENT,
      hint: 'if your client runs in another namespace pass --namespace; otherwise install the tracebloc client Helm chart first',
      reason: 'no_client',
    })
  }
  if (found.length > 1) {
    throw new CliError(`found ${found.length} tracebloc clients in namespace "${t.namespace}"`, {
      exitCode: ExitCode.NO_CLIENT,
      hint: 'keep one client release per namespace, or pass --namespace for the one you mean',
      reason: 'multiple_clients',
    })
  }
  const d = found[0]
  const labels = d.metadata?.labels ?? {}
  const release = labels['app.kubernetes.io/instance'] ?? ''
  const env = d.spec?.template?.spec?.containers?.[0]?.env ?? []
  const digest = env.find((e) => e.name === 'INGESTOR_IMAGE_DIGEST')?.value || undefined
  const service = await findJobsManagerService(t, release, signal)
  const ingestorSA = await resolveIngestorSA(t, release, signal)
  return {
    namespace: t.namespace,
    release,
    chartVersion: (labels['helm.sh/chart'] ?? '').replace(/^client-/, ''),
    appVersion: labels['app.kubernetes.io/version'] ?? '',
    deployment: d.metadata?.name ?? '',
    ingestorDigest: digest,
    service,
    ingestorSA,
    note,
  }
}

/** Whether prompts can be shown: both ends on a terminal, no --json document expected, and the caller allows it. */
function interactive(t: ClusterTarget): boolean {
  return t.prompts !== false && canPrompt() && !process.argv.includes('--json')
}

async function confirmNamespaceSwitch(t: ClusterTarget, ns: string): Promise<void> {
  const where = `no tracebloc client in namespace "${t.namespace}", but there is one in namespace "${ns}"`
  if (!interactive(t)) {
    throw new CliError(where, {
      exitCode: ExitCode.LOCAL_ENV,
      hint: `pass -n ${ns} to use it (the CLI does not switch namespaces without asking)`,
      reason: 'namespace_confirmation_needed',
    })
  }
  const {createInterface} = await import('node:readline/promises')
  const rl = createInterface({input: process.stdin, output: process.stderr})
  let answer: string
  try {
    answer = await rl.question(`${where}. Use namespace "${ns}"? [y/N] `)
  } finally {
    rl.close()
  }
  if (!/^y(es)?$/i.test(answer.trim())) {
    throw new CliError(`no tracebloc client in namespace "${t.namespace}" (the one in "${ns}" was not chosen)`, {
      exitCode: ExitCode.NO_CLIENT,
      hint: `pass -n ${ns} to use it, or -n <namespace> for another`,
      reason: 'no_client',
    })
  }
}

async function findJobsManagerService(t: ClusterTarget, release: string, signal?: AbortSignal) {
  for (const name of ['jobs-manager', `${release}-jobs-manager`]) {
    try {
      const svc = await withApiRetry(() => t.core.readNamespacedService({name, namespace: t.namespace}), {signal})
      return {name, selector: svc.spec?.selector ?? {app: 'manager'}}
    } catch (error) {
      const f = apiFailure(error)
      if (f.code !== 404) {
        throw new CliError(`reading Service ${t.namespace}/${name}: ${f.message}`, {
          exitCode: ExitCode.NO_CLIENT,
          hint: 'your user needs `get` on services in the client namespace',
          reason: f.code === 403 ? 'rbac_denied' : 'discovery_failed',
        })
      }
    }
  }
  throw new CliError(`the client release "${release}" has no jobs-manager Service in namespace "${t.namespace}"`, {
    exitCode: ExitCode.NO_CLIENT,
    hint: 'the client install looks incomplete; re-run `helm upgrade` of the client chart',
    reason: 'no_jobs_manager_service',
  })
}

/** The unique service_account allowed for this namespace in <release>-ingestion-authz, else `ingestor`. */
export async function resolveIngestorSA(t: ClusterTarget, release: string, signal?: AbortSignal): Promise<string> {
  try {
    const cm = await withApiRetry(() => t.core.readNamespacedConfigMap({name: `${release}-ingestion-authz`, namespace: t.namespace}), {signal})
    const doc = loadYaml(cm.data?.['ingestion-authz.yaml'] ?? '') as {allowed?: Array<{service_account?: string; namespace?: string}>} | null
    const sas = new Set(
      (doc?.allowed ?? []).filter((a) => a?.namespace === t.namespace && a?.service_account).map((a) => String(a.service_account)),
    )
    if (sas.size === 1) return [...sas][0]
  } catch {
    // absent, forbidden or unparseable: the chart default applies
  }
  return DEFAULT_INGESTOR_SA
}

export interface SharedPvc {
  name: string
  phase: string
  accessModes: string[]
  capacity?: string
}

export async function checkSharedPvc(t: ClusterTarget, signal?: AbortSignal): Promise<SharedPvc> {
  let pvc
  try {
    pvc = await withApiRetry(() => t.core.readNamespacedPersistentVolumeClaim({name: SHARED_PVC, namespace: t.namespace}), {signal})
  } catch (error) {
    const f = apiFailure(error)
    throw new CliError(
      f.code === 404 ? `PVC ${t.namespace}/${SHARED_PVC} not found` : `reading PVC ${t.namespace}/${SHARED_PVC}: ${f.message}`,
      {
        exitCode: ExitCode.NO_CLIENT,
        hint: f.code === 404 ? 'the client chart creates client-pvc; the name is fixed — check the client install' : 'your user needs `get` on persistentvolumeclaims',
        reason: f.code === 404 ? 'pvc_missing' : 'pvc_unreadable',
      },
    )
  }
  const phase = pvc.status?.phase ?? 'Unknown'
  if (phase !== 'Bound') {
    throw new CliError(`PVC ${t.namespace}/${SHARED_PVC} is ${phase}, not Bound`, {
      exitCode: ExitCode.NO_CLIENT,
      hint: `check that the cluster has a usable StorageClass: kubectl describe pvc -n ${t.namespace} ${SHARED_PVC}`,
      reason: 'pvc_not_bound',
    })
  }
  return {name: SHARED_PVC, phase, accessModes: pvc.status?.accessModes ?? pvc.spec?.accessModes ?? [], capacity: pvc.status?.capacity?.storage}
}

/** A Running and Ready pod behind the jobs-manager Service (the Go CLI ignores Ready; we do not). */
export async function pickJobsManagerPod(t: ClusterTarget, rel: ClientRelease, signal?: AbortSignal): Promise<string> {
  const selector = Object.entries(rel.service.selector).map(([k, v]) => `${k}=${v}`).join(',')
  let pods
  try {
    pods = await withApiRetry(() => t.core.listNamespacedPod({namespace: rel.namespace, labelSelector: selector}), {signal})
  } catch (error) {
    const f = apiFailure(error)
    throw new CliError(`listing jobs-manager pods: ${f.message}`, {exitCode: ExitCode.SUBMIT, reason: 'jobs_manager_unavailable', hint: 'your user needs `list` on pods'})
  }
  const ready = pods.items.find(
    (p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
  )
  if (ready) return ready.metadata!.name!
  const running = pods.items.filter((p) => p.status?.phase === 'Running').length
  throw new CliError(
    `jobs-manager is not ready: ${pods.items.length} pod(s) behind Service ${rel.service.name}, ${running} Running, none Ready`,
    {
      exitCode: ExitCode.SUBMIT,
      hint: `check it with: kubectl get pods -n ${rel.namespace} -l ${selector} (and kubectl logs for the api container)`,
      reason: 'jobs_manager_unavailable',
    },
  )
}
