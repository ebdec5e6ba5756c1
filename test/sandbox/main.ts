// `npm run sandbox [-- --kubeconfig PATH]`: runs the sandbox cluster in the foreground until
// SIGINT/SIGTERM. Fault knobs: SANDBOX_FAULTS='{"jobsManager":"notready"}' (JSON FaultSettings).
import {parseArgs} from 'node:util'
import {startSandbox} from './index.js'
import type {FaultSettings} from './faults.js'

const {values} = parseArgs({options: {kubeconfig: {type: 'string'}, 'legacy-secret': {type: 'boolean'}}, allowPositionals: false})
const faults = process.env.SANDBOX_FAULTS ? (JSON.parse(process.env.SANDBOX_FAULTS) as FaultSettings) : undefined
const sb = await startSandbox({kubeconfigPath: values.kubeconfig, faults, legacySecret: values['legacy-secret']})
console.log(`kubeconfig: ${sb.kubeconfigPath}`)
console.log(`namespace: ${sb.namespace}  api: ${sb.apiUrl}  client-pvc: ${sb.pvcDir}`)
console.log(`try: KUBECONFIG=${sb.kubeconfigPath} kubectl get pods`)
console.log('sandbox ready')

let stopping = false
const shutdown = (sig: string) => {
  if (stopping) return
  stopping = true
  console.log(`${sig}: stopping sandbox`)
  sb.stop().then(() => process.exit(0), (e) => {
    console.error(e)
    process.exit(1)
  })
}
process.on('SIGINT', () => shutdown('SIGINT'))
process.on('SIGTERM', () => shutdown('SIGTERM'))
