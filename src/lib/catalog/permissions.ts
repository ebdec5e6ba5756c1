// The exact verbs each dataset command needs (docs/protocol.md#rbac), checked up front with
// SelfSubjectAccessReview so a missing one is named before anything runs. Optional verbs only
// degrade the output (sizes, names of per-ingestion tables) and are reported as notes.
import {ClusterTarget} from '../cluster/kube.js'
import {checkPermissions, describePermission, P, PermissionCheck, permissionDenied} from '../cluster/rbac.js'
import {ExitCode} from '../output/errors.js'

/** list / show: read MySQL through the mysql-client pod. */
export const READ_PERMISSIONS = [P('list', 'pods', 'find the mysql-client pod'), P('create', 'pods', 'run mysql in the mysql-client pod', '', 'exec')]

/** delete / push --overwrite: the above, plus the short-lived pod that removes the files. */
export const DELETE_PERMISSIONS = [
  ...READ_PERMISSIONS,
  P('get', 'persistentvolumeclaims', 'check client-pvc'),
  P('create', 'pods', 'start the pod that removes the files'),
  P('get', 'pods', 'wait for that pod to be ready'),
  P('delete', 'pods', 'remove that pod afterwards'),
]

/** Nice to have: names of per-ingestion tables (Jobs, their ConfigMaps and logs). */
export const OPTIONAL_PERMISSIONS = [
  P('list', 'jobs', 'name per-ingestion tables after their datasets', 'batch'),
  P('get', 'configmaps', 'name per-ingestion tables after their datasets'),
  P('get', 'pods', 'name per-ingestion tables after their datasets', '', 'log'),
]

/** Throws exit 7 naming every missing required verb; returns notes for missing optional ones. */
export async function requireDatasetPermissions(t: ClusterTarget, namespace: string, required: typeof READ_PERMISSIONS, signal?: AbortSignal): Promise<string[]> {
  const checks: PermissionCheck[] = await checkPermissions(t, namespace, [...required, ...OPTIONAL_PERMISSIONS], signal)
  const isRequired = (c: PermissionCheck) => required.some((r) => r.verb === c.verb && r.resource === c.resource && r.subresource === c.subresource && r.purpose === c.purpose)
  const missing = checks.filter((c) => !c.allowed && isRequired(c))
  if (missing.length) throw permissionDenied(namespace, missing, ExitCode.STAGING)
  const optional = checks.filter((c) => !c.allowed && !isRequired(c))
  return optional.length ? [`without ${optional.map(describePermission).join(', ')}, per-ingestion tables may show by their physical names`] : []
}
