// RBAC preflight for runs / logs / cancel (docs/protocol.md#rbac): one SelfSubjectAccessReview per verb, so a
// missing grant fails at once naming the verb, instead of half-way through a cancel.
import {checkPermissions, P, PermissionCheck, permissionDenied} from '../cluster/rbac.js'
import {ClusterTarget} from '../cluster/kube.js'
import {ExitCode} from '../output/errors.js'

export const RUNS_PERMISSIONS = [P('list', 'jobs', 'list the ingestion Jobs', 'batch')]
export const LOGS_PERMISSIONS = [
  P('get', 'jobs', 'read the run’s Job status', 'batch'),
  P('list', 'jobs', 'find the run by idempotency key', 'batch'),
  P('list', 'pods', 'find the run’s pods'),
  P('get', 'pods', 'read the run’s logs', '', 'log'),
]
export const CANCEL_PERMISSIONS = [
  P('get', 'jobs', 'read the run’s Job', 'batch'),
  P('list', 'jobs', 'find the run by idempotency key', 'batch'),
  P('delete', 'jobs', 'delete the run’s Job', 'batch'),
  P('list', 'pods', 'wait until the run’s pods are gone'),
]

export async function requireRunPermissions(t: ClusterTarget, namespace: string, perms: typeof RUNS_PERMISSIONS, signal?: AbortSignal): Promise<PermissionCheck[]> {
  const checks = await checkPermissions(t, namespace, perms, signal)
  const missing = checks.filter((c) => !c.allowed)
  if (missing.length === 0) return checks
  throw permissionDenied(namespace, missing, ExitCode.JOB)
}
