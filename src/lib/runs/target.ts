// Where runs / logs / cancel look: --namespace, else the namespace of the run named by the recent-run
// cache (no argument = "my last run"), else the client release found by discovery.
import {ClientRelease, discoverRelease} from '../cluster/discovery.js'
import {ClusterFlags, ClusterTarget, loadClusterTarget} from '../cluster/kube.js'
import {CliError} from '../output/errors.js'
import {RecentRuns} from './cache.js'

export interface RunTarget {
  t: ClusterTarget
  namespace: string
  cache: RecentRuns
  release?: ClientRelease
}

export async function runTarget(flags: ClusterFlags, cacheDir: string, o: {arg?: string; needRelease?: boolean; signal?: AbortSignal}): Promise<RunTarget> {
  const t = await loadClusterTarget(flags)
  const cache = await clusterCache(t, cacheDir, o.signal)
  let known = Boolean(flags.namespace)
  if (!flags.namespace && o.arg === undefined) {
    const last = cache.last(t.context)
    if (last) {
      t.namespace = last.namespace
      t.explicit = true
      known = true
    }
  }
  if (o.needRelease || !known) {
    const release = await discoverRelease(t, o.signal)
    return {t, namespace: release.namespace, cache, release}
  }
  return {t, namespace: t.namespace, cache}
}

/** This cluster's recent runs (keyed by its kube-system UID; none when its identity cannot be read). */
export async function clusterCache(t: ClusterTarget, cacheDir: string, signal?: AbortSignal): Promise<RecentRuns> {
  const {clusterIdentity} = await import('../guard/identity.js')
  const uid = await clusterIdentity(t, t.namespace, signal).then(
    (id) => id.uid ?? '',
    () => '',
  )
  return RecentRuns.load(cacheDir, uid)
}

/**
 * A namespace the user named that holds no runs: when no client release is there either, say that (exit 4)
 * instead of "no runs", which reads as an empty but right namespace. Any other discovery problem (e.g. no
 * permission to list deployments) leaves the empty answer as it was.
 */
export async function requireClientWhenEmpty(t: ClusterTarget, signal?: AbortSignal): Promise<void> {
  try {
    await discoverRelease(t, signal)
  } catch (error) {
    if (error instanceof CliError && error.reason === 'no_client') throw error
  }
}
