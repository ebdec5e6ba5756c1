// `npm run sandbox [-- --kubeconfig PATH]`: runs the sandbox cluster in the foreground until
// SIGINT/SIGTERM/SIGHUP, or until the process that started it goes away; `-- --help` lists the options.
import path from 'node:path'
import {parseArgs} from 'node:util'

import {STATIC_USERS} from './apiserver/rbac.js'
import type {FaultSettings} from './faults.js'
import {contextFor} from './kubeconfig.js'

const USER_ROLES: Record<(typeof STATIC_USERS)[number], string> = {
  admin: 'admin: everything a push needs',
  'no-token-request': 'no-token-request: cannot create serviceaccounts/token',
  'no-exec': 'no-exec: cannot create pods/exec',
  reader: 'reader: read-only (the built-in view role: no Secrets, no exec or port-forward)',
}

const HELP = `Run the sandbox cluster (a local Kubernetes API server, kubelet and tracebloc client release)
in the foreground until Ctrl-C / SIGTERM; everything it started stops with it.

Usage: npm run sandbox [-- OPTIONS]

Options:
  --kubeconfig PATH   write the kubeconfig here (default: a new temp directory; printed at start)
  --legacy-secret     the ingestor token comes from a legacy token Secret, not TokenRequest
  --object-store-http object-store.env names the store's plain-HTTP endpoint (default: HTTPS + its CA)
  -h, --help          show this help

Users (one kubeconfig context each; current context: ${contextFor('admin')}):
${STATIC_USERS.map((u) => `  ${contextFor(u).padEnd(26)} ${USER_ROLES[u]}`).join('\n')}

Faults: SANDBOX_FAULTS='<JSON>' sets them at start (keys: test/sandbox/faults.ts), e.g.
  SANDBOX_FAULTS='{"jobsManager":"notready"}' npm run sandbox
  SANDBOX_FAULTS='{"ingestor":"validator-failure"}' npm run sandbox
and POST /_sandbox/faults on the API server (admin token) changes them while it runs.

Object store: an S3-compatible store (SigV4, presigned URLs, HTTP and HTTPS with its own CA) and a
static HTTPS file server start with the sandbox. Beside the kubeconfig it writes
  object-store.env     AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_CA_BUNDLE
  object-store-ca.pem  the CA of its HTTPS endpoints
so any S3 client can make buckets and upload data:  . <dir>/object-store.env && aws s3 mb s3://data
Pods labelled tracebloc.io/egress=object-store reach the store (as https://tb-objects:PORT) and nothing
else (Linux, as root: a network namespace with a veth pair); all other pods have no network.
Object-store faults: SANDBOX_FAULTS='{"objectStore":{"slowDown":{"count":3,"retryAfterSeconds":1}}}'

Push the bundled sample into it (samples: test/fixtures/reference/samples/<category>/):
  ./bin/run.js dataset push test/fixtures/reference/samples/image_classification/data \\
    --table cats_dogs_train --kubeconfig <the printed kubeconfig>
`

let values: {kubeconfig?: string; 'legacy-secret'?: boolean; 'object-store-http'?: boolean; help?: boolean}
try {
  values = parseArgs({options: {kubeconfig: {type: 'string'}, 'legacy-secret': {type: 'boolean'}, 'object-store-http': {type: 'boolean'}, help: {type: 'boolean', short: 'h'}}, allowPositionals: false}).values
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n\n${HELP}`)
  process.exit(2)
}
if (values.help) {
  process.stdout.write(HELP)
  process.exit(0)
}
let faults: FaultSettings | undefined
try {
  faults = process.env.SANDBOX_FAULTS ? (JSON.parse(process.env.SANDBOX_FAULTS) as FaultSettings) : undefined
} catch (error) {
  process.stderr.write(`SANDBOX_FAULTS is not valid JSON: ${(error as Error).message}\n`)
  process.exit(2)
}

let stopping = false
const running: {stop?: () => Promise<void>} = {}
const shutdown = (why: string) => {
  if (stopping) return
  stopping = true
  console.log(`${why}: stopping sandbox`)
  if (!running.stop) return // still starting: stopped right after startSandbox returns
  running.stop().then(
    () => process.exit(0),
    (e) => {
      console.error(e)
      process.exit(1)
    },
  )
}
// Signals may come before the sandbox is up: stop whatever has started by then.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => shutdown(sig))
// When the starter (npm, a shell) dies without passing the signal on, we are re-parented: stop too.
const parent = process.ppid
setInterval(() => {
  if (process.ppid !== parent) shutdown('parent process exited')
}, 500).unref()

const {startSandbox} = await import('./index.js')
const sb = await startSandbox({kubeconfigPath: values.kubeconfig, faults, legacySecret: values['legacy-secret'], objectStore: values['object-store-http'] ? 'http' : true})
running.stop = () => sb.stop()
if (stopping) await sb.stop().then(() => process.exit(0))
console.log(`kubeconfig: ${sb.kubeconfigPath}`)
console.log(`namespace: ${sb.namespace}  api: ${sb.apiUrl}  client-pvc: ${sb.pvcDir}`)
if (sb.objectStore) console.log(`object store: ${sb.objectStore.httpsUrl} (pods: ${sb.objectStore.podHttpsUrl ?? 'no pod network'})  env: ${path.join(path.dirname(sb.kubeconfigPath), 'object-store.env')}`)
console.log(`try: KUBECONFIG=${sb.kubeconfigPath} kubectl get pods`)
console.log('sandbox ready')
