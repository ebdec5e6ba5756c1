// Flags shared by every command that talks to the cluster.
import {Flags} from '@oclif/core'

export const clusterFlags = {
  kubeconfig: Flags.string({description: 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)', helpGroup: 'CLUSTER'}),
  context: Flags.string({description: 'Kubeconfig context to use', helpGroup: 'CLUSTER'}),
  namespace: Flags.string({char: 'n', description: 'Namespace of the tracebloc client (default: the context namespace, then a cluster-wide search)', helpGroup: 'CLUSTER'}),
  profile: Flags.string({description: 'Config profile whose defaults to use (default: $TRACEBLOC_PROFILE, then "default"); see `tracebloc config`', helpGroup: 'CLUSTER'}),
  'no-input': Flags.boolean({description: 'Never prompt: a question that needs an answer fails with its documented exit code', helpGroup: 'GLOBAL'}),
}

/** The wrong-cluster guard's flags, on every command that writes to the cluster. */
export const writeFlags = {
  'i-know-the-target': Flags.boolean({description: 'Write even though this context now points at another cluster than when this machine last wrote through it', helpGroup: 'CLUSTER'}),
  'expect-cluster': Flags.string({description: 'Refuse unless the cluster\'s kube-system UID starts with this (default: $TRACEBLOC_EXPECT_CLUSTER)', helpGroup: 'CLUSTER'}),
}

/** Milliseconds from an env override (used by tests and slow clusters), else the default. */
export function envMs(name: string, fallbackSeconds: number): number {
  const v = Number(process.env[name])
  return (Number.isFinite(v) && v > 0 ? v : fallbackSeconds) * 1000
}
