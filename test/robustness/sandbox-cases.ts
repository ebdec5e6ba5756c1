// Bad-input cases that need a cluster: RBAC of the sandbox's restricted users, server faults from the
// sandbox's knobs (test/sandbox/faults.ts), namespaces without a client. Each pushes a tiny dataset.
export interface SandboxCase {
  name: string
  /** extra push arguments (the kubeconfig is the sandbox's) */
  args?: string[]
  faults?: Record<string, unknown>
  env?: Record<string, string>
  code: number
  message: RegExp
}

export const SANDBOX_CASES: SandboxCase[] = [
  {name: 'RBAC: read-only user', args: ['--context', 'sandbox-reader'], code: 7, message: /your user lacks permission in namespace "tracebloc": create pods/},
  {name: 'RBAC: user without pods/exec', args: ['--context', 'sandbox-no-exec'], code: 7, message: /lacks permission.*create pods\/exec/},
  {name: 'namespace without a client', args: ['--namespace', 'default'], code: 4, message: /no tracebloc client found in namespace "default"|lacks permission|cannot|listing deployments/},
  {name: 'PVC not Bound', faults: {pvcNotBound: true}, code: 4, message: /client-pvc is Pending, not Bound/},
  {name: 'jobs-manager down', faults: {jobsManager: 'down'}, code: 8, message: /jobs-manager is not ready/},
  {name: 'API server answers 503 to every permission check', faults: {apiErrorBurst: {count: 1000, status: 503, pathIncludes: 'selfsubjectaccessreviews'}}, code: 3, message: /checking permission/},
  {name: 'stage image cannot be pulled', faults: {imagePullFailure: 'alpine'}, code: 7, message: /stage pod cannot start: (ErrImagePull|ImagePullBackOff)/},
  {name: 'stage pod never scheduled', faults: {stuckPending: 'tracebloc-stage'}, env: {TRACEBLOC_STAGE_POD_TIMEOUT: '3'}, code: 7, message: /did not become Ready within 3s/},
  {name: 'every submit answered 503', faults: {submitErrorBurst: {count: 100, status: 503}}, code: 8, message: /jobs-manager rejected the submit \(HTTP 503\)/},
  {name: 'ingestor rejects the config', faults: {ingestor: 'config-error'}, code: 9, message: /Ingestion failed/},
  {name: 'log stream cut mid-run: reconnects, run succeeds', faults: {cutLogStreamAfterBytes: 200}, code: 0, message: /Ingestion complete/},
]

export const SANDBOX_CASE_COUNT = SANDBOX_CASES.length
