// The wrong-cluster guard, asked once by every command that writes (push, delete, cancel, push
// --overwrite, cancel --clear-lock) after it connected and before it changes anything. Reading
// commands never call it. A refusal is exit 3: the kubeconfig points somewhere it should not.
import {isoSeconds} from '../output/format.js'
import {ClusterTarget} from '../cluster/kube.js'
import {CliError, ExitCode} from '../output/errors.js'
import {ClusterIdentity, clusterIdentity, describeIdentity, shortUid} from './identity.js'
import {kubeconfigSource, TargetRecords} from './targets.js'

/** Pins the target for CI, like --expect-cluster. */
export const EXPECT_CLUSTER_ENV = 'TRACEBLOC_EXPECT_CLUSTER'

export interface GuardOptions {
  /** --kubeconfig as given (the record is per kubeconfig file and context name). */
  kubeconfig?: string
  /** --i-know-the-target: write even though the context now points at another cluster. */
  iKnowTheTarget?: boolean
  /** --expect-cluster (else $TRACEBLOC_EXPECT_CLUSTER): a kube-system UID or a prefix of it. */
  expectCluster?: string
  /** A dry run shows the identity but neither refuses nor records. */
  dryRun?: boolean
  signal?: AbortSignal
  stateDir?: string
}

export interface GuardResult {
  identity: ClusterIdentity
  /** One line for the user (a first write to a cluster, an override), when there is something to say. */
  note?: string
}

export async function guardWrite(t: ClusterTarget, namespace: string, o: GuardOptions = {}): Promise<GuardResult> {
  const identity = await clusterIdentity(t, namespace, o.signal)
  if (o.dryRun) return {identity}
  const uid = identity.uid!
  const expect = (o.expectCluster ?? process.env[EXPECT_CLUSTER_ENV] ?? '').trim().toLowerCase()
  if (expect && !uid.toLowerCase().startsWith(expect)) {
    throw new CliError(`context "${t.context}" points at ${describeIdentity(identity)}, not the expected cluster ${expect}`, {
      exitCode: ExitCode.LOCAL_ENV,
      hint: `nothing was written; point --context/--kubeconfig at cluster ${expect}, or change --expect-cluster (${EXPECT_CLUSTER_ENV})`,
      reason: 'unexpected_cluster',
    })
  }
  const kubeconfig = kubeconfigSource(o.kubeconfig)
  const records = TargetRecords.load(o.stateDir)
  const before = records.find(kubeconfig, t.context)
  let note: string | undefined
  if (before && before.uid !== uid) {
    if (!o.iKnowTheTarget && !expect) {
      throw new CliError(
        `context "${t.context}" now points at ${describeIdentity(identity)}; this machine last wrote through it to ${describeIdentity(before)} at ${before.last_write_at}`,
        {
          exitCode: ExitCode.LOCAL_ENV,
          hint: 'nothing was written; check --context and KUBECONFIG. If the new cluster is the one you mean, run again with --i-know-the-target',
          reason: 'cluster_changed',
        },
      )
    }
    note = `writing to cluster ${shortUid(uid)} (${identity.server}) through context "${t.context}", which last wrote to cluster ${shortUid(before.uid)} (${before.server})`
  } else if (!before && !records.seen(uid)) {
    note = `first write from this machine to cluster ${shortUid(uid)} (${identity.server}, namespace ${namespace}); remembered for context "${t.context}"`
  }
  records.remember({kubeconfig, context: t.context, server: identity.server, uid, namespace, last_write_at: isoSeconds()})
  return {identity, note}
}
