// Flags shared by every command that talks to the cluster.
import {Flags} from '@oclif/core'

export const clusterFlags = {
  kubeconfig: Flags.string({description: 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)', helpGroup: 'CLUSTER'}),
  context: Flags.string({description: 'Kubeconfig context to use', helpGroup: 'CLUSTER'}),
  namespace: Flags.string({char: 'n', description: 'Namespace of the tracebloc client (default: the context namespace, then a cluster-wide search)', helpGroup: 'CLUSTER'}),
  profile: Flags.string({description: 'Config profile whose defaults to use (default: $TRACEBLOC_PROFILE, then "default"); see `tracebloc config`', helpGroup: 'CLUSTER'}),
}

/** Milliseconds from an env override (used by tests and slow clusters), else the default. */
export function envMs(name: string, fallbackSeconds: number): number {
  const v = Number(process.env[name])
  return (Number.isFinite(v) && v > 0 ? v : fallbackSeconds) * 1000
}
