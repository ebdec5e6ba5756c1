// Which cluster a kubeconfig context really points at. A context name and a server URL can both be
// reused for another cluster; the UID of the kube-system namespace cannot (it is created once, with the
// cluster). Together with the release namespace it names the target of a write.
import {createHash} from 'node:crypto'

import {apiFailure, ClusterTarget, withApiRetry} from '../cluster/kube.js'

export interface ClusterIdentity {
  /** kube-system namespace UID; absent when the user may not read that namespace. */
  uid?: string
  /** How `uid` was found: the namespace itself, or (without `get namespaces`) a hash of the server URL and its CA. */
  source: 'kube-system' | 'server-ca'
  server: string
  context: string
  namespace: string
}

/** The short form shown to people (first 8 characters, as `--expect-cluster` accepts a prefix). */
export const shortUid = (uid?: string) => (uid ? uid.slice(0, 8) : 'unknown')

export async function clusterIdentity(t: ClusterTarget, namespace: string, signal?: AbortSignal): Promise<ClusterIdentity> {
  const base = {server: t.server, context: t.context, namespace}
  try {
    const ns = await withApiRetry(() => t.core.readNamespace({name: 'kube-system'}), {signal})
    if (ns.metadata?.uid) return {...base, uid: ns.metadata.uid, source: 'kube-system'}
  } catch (error) {
    // a namespaced role cannot read cluster-scoped objects: fall back to what the kubeconfig says
    const f = apiFailure(error)
    if (f.code === 0 || f.code === 401) throw error
  }
  const ca = t.kc.getCurrentCluster()?.caData ?? t.kc.getCurrentCluster()?.caFile ?? ''
  const uid = 'ca-' + createHash('sha256').update(`${t.server}\n${ca}`).digest('hex').slice(0, 32)
  return {...base, uid, source: 'server-ca'}
}

export function describeIdentity(i: Pick<ClusterIdentity, 'uid' | 'server' | 'namespace'>): string {
  return `${i.server} (kube-system UID ${i.uid ?? 'unknown'}, namespace ${i.namespace})`
}
