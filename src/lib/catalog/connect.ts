// The cluster side every dataset command starts with: kubeconfig (exit 3), the client release (exit 4),
// client-pvc when files will be removed (exit 4), then the RBAC preflight for the command's verbs (exit 7).
import {checkSharedPvc, ClientRelease, discoverRelease} from '../cluster/discovery.js'
import {ClusterFlags, ClusterTarget, loadClusterTarget} from '../cluster/kube.js'
import {READ_PERMISSIONS, requireDatasetPermissions} from './permissions.js'

export interface DatasetConnection {
  target: ClusterTarget
  release: ClientRelease
  namespace: string
  notes: string[]
}

export async function connectForDatasets(
  flags: ClusterFlags,
  o: {permissions: typeof READ_PERMISSIONS; pvc: boolean; signal?: AbortSignal},
): Promise<DatasetConnection> {
  const target = await loadClusterTarget(flags)
  const release = await discoverRelease(target, o.signal)
  const notes = release.note ? [release.note] : []
  if (o.pvc) await checkSharedPvc(target, o.signal)
  notes.push(...(await requireDatasetPermissions(target, release.namespace, o.permissions, o.signal)))
  return {target, release, namespace: release.namespace, notes}
}
