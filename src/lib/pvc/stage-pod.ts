// The ephemeral stage pod: same identity and labels as the Go CLI (docs/protocol.md#stage-pod) so both CLIs'
// orphan scans and file ownership (uid 65532) stay coherent; PSS-restricted, no SA token mounted.
import {randomBytes} from 'node:crypto'

import {apiFailure, ClusterTarget, sleep, withApiRetry} from '../cluster/kube.js'
import {SHARED_PVC} from '../cluster/discovery.js'
import {SHARED_MOUNT} from './paths.js'
import {CliError, ExitCode} from '../output/errors.js'
import {isoSeconds, trimChar} from '../output/format.js'
import {tableLabelValue} from './k8s-names.js'

export const DEFAULT_STAGE_IMAGE = 'alpine:3.20@sha256:d9e853e87e55526f6b2917df91a2115c36dd7c696a35be12163d44e6e2a4b6bc'
export const STAGE_UID = 65532
export const STAGE_DEADLINE_SECONDS = 1800
export const STAGE_LABELS = {'app.kubernetes.io/managed-by': 'tracebloc-cli', 'tracebloc.io/component': 'stage-pod'}
export const STAGE_CONTAINER = 'stage'

type V1Pod = import('@kubernetes/client-node').V1Pod

export function stagePodName(table: string): string {
  const seg = trimChar(trimChar(table.toLowerCase().replace(/_/g, '-').replace(/[^a-z0-9-]/g, ''), '-').slice(0, 30), '-', 'end') || 'tbl'
  return `tracebloc-stage-${seg}-${randomBytes(4).toString('hex')}`
}

export function buildStagePod(opts: {name: string; namespace: string; table: string; serviceAccount: string; image: string; runId: string}): V1Pod {
  const restricted = {
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    runAsUser: STAGE_UID,
    runAsGroup: STAGE_UID,
    capabilities: {drop: ['ALL']},
    seccompProfile: {type: 'RuntimeDefault'},
  }
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: opts.name,
      namespace: opts.namespace,
      // the label is the table when Kubernetes allows it as a label value; the annotation always holds it verbatim
      labels: {...STAGE_LABELS, 'tracebloc.io/table': tableLabelValue(opts.table), 'tracebloc.io/run': opts.runId},
      annotations: {'tracebloc.io/created-at': isoSeconds(), 'tracebloc.io/created-by': 'tracebloc-cli', 'tracebloc.io/table': opts.table},
    },
    spec: {
      serviceAccountName: opts.serviceAccount,
      automountServiceAccountToken: false,
      restartPolicy: 'Never',
      activeDeadlineSeconds: STAGE_DEADLINE_SECONDS,
      terminationGracePeriodSeconds: 0,
      securityContext: {runAsNonRoot: true, runAsUser: STAGE_UID, runAsGroup: STAGE_UID, fsGroup: STAGE_UID, seccompProfile: {type: 'RuntimeDefault'}},
      containers: [
        {
          name: STAGE_CONTAINER,
          image: opts.image,
          command: ['/bin/sleep', String(STAGE_DEADLINE_SECONDS)],
          securityContext: restricted,
          resources: {requests: {cpu: '50m', memory: '64Mi'}, limits: {cpu: '1', memory: '256Mi'}},
          volumeMounts: [
            {name: 'shared', mountPath: SHARED_MOUNT},
            {name: 'tmp', mountPath: '/tmp'},
          ],
        },
      ],
      volumes: [
        {name: 'shared', persistentVolumeClaim: {claimName: SHARED_PVC}},
        {name: 'tmp', emptyDir: {}},
      ],
    },
  }
}

export async function createStagePod(t: ClusterTarget, pod: V1Pod, signal?: AbortSignal): Promise<string> {
  try {
    const created = await withApiRetry(() => t.core.createNamespacedPod({namespace: pod.metadata!.namespace!, body: pod}), {signal})
    return created.metadata!.name!
  } catch (error) {
    const f = apiFailure(error)
    throw new CliError(`creating stage pod: ${f.message}`, {
      exitCode: ExitCode.STAGING,
      hint: f.code === 403 ? 'your user needs `create` on pods in the client namespace' : 'check the namespace events: kubectl get events -n ' + pod.metadata!.namespace,
      reason: f.code === 403 ? 'rbac_denied' : 'stage_pod_create_failed',
    })
  }
}

const FATAL_WAITING = new Set(['ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'CreateContainerConfigError', 'CreateContainerError', 'ErrImageNeverPull'])

/** Wait for Ready; fail fast with the real reason (image pull, scheduling) instead of a bare timeout. */
export async function waitPodReady(t: ClusterTarget, namespace: string, name: string, opts: {timeoutMs: number; signal?: AbortSignal; onStatus?: (s: string) => void}): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs
  for (;;) {
    let pod: V1Pod
    try {
      pod = await withApiRetry(() => t.core.readNamespacedPod({name, namespace}), {signal: opts.signal})
    } catch (error) {
      const f = apiFailure(error)
      throw new CliError(`stage pod ${namespace}/${name} ${f.code === 404 ? 'disappeared' : `unreadable: ${f.message}`}`, {exitCode: ExitCode.STAGING, reason: 'stage_pod_lost'})
    }
    const phase = pod.status?.phase
    if (pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) return
    if (phase === 'Failed' || phase === 'Succeeded') {
      throw new CliError(`stage pod ${namespace}/${name} ended (${phase}${pod.status?.reason ? `: ${pod.status.reason}` : ''}) before it was ready`, {
        exitCode: ExitCode.STAGING,
        reason: 'stage_pod_failed',
      })
    }
    const waiting = pod.status?.containerStatuses?.[0]?.state?.waiting
    if (waiting?.reason && FATAL_WAITING.has(waiting.reason)) {
      throw new CliError(`stage pod cannot start: ${waiting.reason}${waiting.message ? ` — ${waiting.message}` : ''}`, {
        exitCode: ExitCode.STAGING,
        hint: waiting.reason.includes('Image')
          ? `the cluster cannot pull ${pod.spec?.containers[0].image}; mirror it and pass --stage-image <registry>/<image>`
          : `kubectl describe pod -n ${namespace} ${name}`,
        reason: 'image_pull_failed',
      })
    }
    const sched = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False')
    const lastHint = sched ? `${sched.reason ?? 'Unschedulable'}: ${sched.message ?? ''}`.trim() : waiting?.reason ?? phase ?? 'Pending'
    opts.onStatus?.(lastHint)
    if (Date.now() > deadline) {
      const event = await latestWarningEvent(t, namespace, name)
      throw new CliError(`stage pod ${namespace}/${name} did not become Ready within ${Math.round(opts.timeoutMs / 1000)}s (${event ?? lastHint})`, {
        exitCode: ExitCode.STAGING,
        hint: sched ? 'the cluster cannot schedule the pod: check node capacity and, for a ReadWriteOnce client-pvc, the node that mounts it' : `kubectl describe pod -n ${namespace} ${name}`,
        reason: sched ? 'unschedulable' : 'stage_pod_timeout',
      })
    }
    await sleep(500, opts.signal)
  }
}

export async function latestWarningEvent(t: ClusterTarget, namespace: string, name: string): Promise<string | undefined> {
  try {
    const ev = await t.core.listNamespacedEvent({namespace, fieldSelector: `involvedObject.name=${name}`})
    const warn = ev.items.filter((e) => e.type === 'Warning').at(-1)
    return warn ? `${warn.reason}: ${warn.message}` : undefined
  } catch {
    return undefined
  }
}

/** Best effort, on every path: grace 0, NotFound is fine. */
export async function deletePod(t: ClusterTarget, namespace: string, name: string): Promise<void> {
  try {
    await withApiRetry(() => t.core.deleteNamespacedPod({name, namespace, gracePeriodSeconds: 0, propagationPolicy: 'Background'}), {attempts: 3})
  } catch (error) {
    const f = apiFailure(error)
    if (f.code !== 404) throw new CliError(`deleting stage pod ${namespace}/${name}: ${f.message}`, {exitCode: ExitCode.STAGING, reason: 'stage_pod_delete_failed'})
  }
}

export interface OrphanPod {
  name: string
  table: string
  phase: string
  ageSeconds: number
}

/** Stage pods left by crashed runs: not Running and older than 5 minutes (Running ones die at their deadline). */
export async function findOrphanStagePods(t: ClusterTarget, namespace: string): Promise<OrphanPod[]> {
  const sel = Object.entries(STAGE_LABELS).map(([k, v]) => `${k}=${v}`).join(',')
  const pods = await t.core.listNamespacedPod({namespace, labelSelector: sel})
  const now = Date.now()
  return pods.items
    .map((p) => ({
      name: p.metadata!.name!,
      table: p.metadata?.annotations?.['tracebloc.io/table'] ?? p.metadata?.labels?.['tracebloc.io/table'] ?? '',
      phase: p.status?.phase ?? 'Unknown',
      ageSeconds: Math.round((now - new Date(p.metadata?.creationTimestamp ?? now).getTime()) / 1000),
    }))
    .filter((p) => p.phase !== 'Running' && p.ageSeconds > 300)
}
