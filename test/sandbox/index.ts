// The whole sandbox in one call: Store + API server (HTTPS, random port) + kubelet + controllers +
// the tracebloc client release, with a kubeconfig written for it. State lives in a temp dir that
// stop() removes. Tests start one per file; `npm run sandbox` (main.ts) runs one in the foreground.
import * as fs from 'node:fs'
import https from 'node:https'
import os from 'node:os'
import path from 'node:path'
import {MemoryStore, startApiServer} from './apiserver/index.js'
import {Faults, type FaultSettings} from './faults.js'
import {writeKubeconfig} from './kubeconfig.js'
import {Controllers} from './kubelet/controllers.js'
import {Kubelet} from './kubelet/kubelet.js'
import {installRelease, type Release} from './release/chart.js'
import {startObjectStore, type ObjectStore} from './object-store/index.js'
import {hostQuery, MYSQL_PVC, MYSQL_SERVICE, newRootPassword, seedDatadir} from './release/mysql.js'
import type {TokenReviewResult} from './release/jobs-manager.js'
import type {Store} from './types.js'

export interface SandboxOptions {
  /** State directory (default: a fresh temp dir, removed by stop()). */
  dir?: string
  /** Where to write the kubeconfig (default: <dir>/kubeconfig). */
  kubeconfigPath?: string
  faults?: FaultSettings
  /** Also create the legacy kubernetes.io/service-account-token Secret `ingestor-token`. */
  legacySecret?: boolean
  kubernetesMinor?: number
  /** Label the tracebloc namespace `pod-security.kubernetes.io/enforce=<level>` (Pod Security admission). */
  podSecurity?: 'baseline' | 'restricted'
  /** Record every API request to this file (JSON lines); default $TRACEBLOC_SANDBOX_RECORD. */
  recordFile?: string
  /** Start with the chart's perIngestionTables switch on (also settable later: faults.set({perIngestionTables})). */
  perIngestionTables?: boolean
  /**
   * Also start the S3-compatible object store and static HTTPS server (object-store/), with a pod network
   * to them, and write object-store.env beside the kubeconfig ('http': the env names the plain-HTTP endpoint).
   */
  objectStore?: boolean | 'http'
}

/** The release's real MariaDB, for tests: seed states and read back what commands did. */
export interface SandboxMysql {
  /** Root password (MYSQL_ROOT_PASSWORD in <release>-secrets and the mysql-client pod's env). */
  password: string
  /** Run SQL as root through the server's socket (the host's `mysql` client, `-N -B` output). */
  query(sql: string): Promise<string>
  /** Resolves once the current mysql-client pod's server answers. */
  ready(timeoutMs?: number): Promise<void>
}

export interface Sandbox {
  kubeconfigPath: string
  namespace: 'tracebloc'
  store: Store
  faults: Faults
  /** Host directory behind PVC client-pvc (what pods see at /data/shared). */
  pvcDir: string
  apiUrl: string
  /** user → bearer token (admin, no-token-request, no-exec, reader). */
  tokens: Record<string, string>
  kubelet: Kubelet
  release: Release
  mysql: SandboxMysql
  /** Set when started with objectStore: true. */
  objectStore?: ObjectStore
  stop(): Promise<void>
}

const NAMESPACE = 'tracebloc'
/** The sandbox's own API calls (jobs-manager's TokenReviews): the request recorder's readers skip them. */
export const SANDBOX_USER_AGENT = 'tracebloc-sandbox'

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const ownDir = !opts.dir
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tracebloc-sandbox-'))
  fs.mkdirSync(dir, {recursive: true})
  const pvcHostDir = (ns: string, claim: string) => {
    const d = path.join(dir, 'pvcs', ns, claim)
    if (!fs.existsSync(d)) {
      fs.mkdirSync(d, {recursive: true})
      fs.chmodSync(d, 0o2777) // as the chart's init-writable-data container leaves /data/shared
    }
    return d
  }
  const pvcDir = pvcHostDir(NAMESPACE, 'client-pvc')
  const store = new MemoryStore()
  const faults = new Faults()
  if (opts.faults) faults.set(opts.faults)
  if (opts.perIngestionTables) faults.set({perIngestionTables: true})
  // the mysql-client pod starts on an initialised datadir: about a second instead of an install
  seedDatadir(pvcHostDir(NAMESPACE, MYSQL_PVC))
  const mysqlRootPassword = newRootPassword()
  const objectStore = opts.objectStore ? await startObjectStore({faults, dir: path.join(dir, 'object-store')}) : undefined
  const kubelet = new Kubelet({store, faults, stateDir: path.join(dir, 'kubelet'), pvcHostDir, podNetwork: objectStore?.podNetwork})
  const api = await startApiServer({store, runtime: kubelet, faults, namespaces: [NAMESPACE], kubernetesVersion: {major: 1, minor: opts.kubernetesMinor ?? 32},
    namespaceLabels: opts.podSecurity ? {'pod-security.kubernetes.io/enforce': opts.podSecurity} : undefined, recordFile: opts.recordFile})
  const controllers = new Controllers(store, kubelet)
  kubelet.start()
  controllers.start()

  const call = (method: string, p: string, body: unknown) => apiCall(api.url, api.caPem, api.tokens.admin, method, p, body)
  // jobs-manager reviews callers' tokens through the API server, as the real one does (tokenreviews create).
  const reviewToken = async (token: string): Promise<TokenReviewResult> => {
    const r = await call('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: {token}})
    const st = r.body?.status ?? {}
    if (!st.authenticated) return {error: st.error || 'token not authenticated'}
    const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(st.user?.username ?? '')
    if (!m) return {error: `user ${st.user?.username} is not a service account`}
    return {namespace: m[1], serviceAccount: m[2]}
  }
  const release = installRelease({store, faults, kubelet, namespace: NAMESPACE, reviewToken, mysqlRootPassword})
  const socketDir = () => kubelet.serviceSocketDir(NAMESPACE, MYSQL_SERVICE)
  const mysql: SandboxMysql = {
    password: mysqlRootPassword,
    query(sql) {
      const dir = socketDir()
      if (!dir) return Promise.reject(new Error('no Running mysql-client pod'))
      return hostQuery(dir, mysqlRootPassword, sql)
    },
    async ready(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        try {
          await mysql.query('SELECT 1')
          return
        } catch (e) {
          if (Date.now() > deadline) throw new Error(`sandbox MariaDB not ready after ${timeoutMs} ms: ${(e as Error).message}`, {cause: e})
          await new Promise((r) => setTimeout(r, 100))
        }
      }
    },
  }
  // Every push checks the table in MySQL first: the database is part of a ready cluster.
  if (!opts.faults?.mysql) await mysql.ready()
  if (opts.legacySecret) {
    // What the token controller fills into a kubernetes.io/service-account-token Secret.
    const r = await call('POST', `/api/v1/namespaces/${NAMESPACE}/serviceaccounts/ingestor/token`, {apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {expirationSeconds: 10 * 365 * 86400}})
    const sa = store.get({group: '', version: 'v1', resource: 'serviceaccounts'}, NAMESPACE, 'ingestor')!
    store.create({group: '', version: 'v1', resource: 'secrets'}, {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/service-account-token',
      metadata: {name: 'ingestor-token', namespace: NAMESPACE, annotations: {'kubernetes.io/service-account.name': 'ingestor', 'kubernetes.io/service-account.uid': sa.metadata.uid}},
      data: {token: Buffer.from(String(r.body?.status?.token ?? '')).toString('base64'), namespace: Buffer.from(NAMESPACE).toString('base64'), 'ca.crt': api.caData},
    })
  }

  const kubeconfigPath = opts.kubeconfigPath ?? path.join(dir, 'kubeconfig')
  writeKubeconfig(kubeconfigPath, {url: api.url, caData: api.caData, tokens: api.tokens, namespace: NAMESPACE})
  // beside the kubeconfig: any S3 client (aws, SDKs) can fill the store from these
  const storeFiles = objectStore ? {env: path.join(path.dirname(kubeconfigPath), 'object-store.env'), ca: path.join(path.dirname(kubeconfigPath), 'object-store-ca.pem')} : undefined
  if (objectStore && storeFiles) {
    fs.writeFileSync(storeFiles.ca, objectStore.caPem)
    fs.writeFileSync(storeFiles.env, objectStore.envFile({tls: opts.objectStore !== 'http', caFile: storeFiles.ca}), {mode: 0o600})
  }

  let stopped = false
  return {
    kubeconfigPath,
    namespace: NAMESPACE,
    store,
    faults,
    pvcDir,
    apiUrl: api.url,
    tokens: api.tokens,
    kubelet,
    release,
    mysql,
    objectStore,
    async stop() {
      if (stopped) return
      stopped = true
      release.stop()
      controllers.stop()
      await kubelet.stop()
      await api.close()
      await objectStore?.stop()
      if (ownDir) fs.rmSync(dir, {recursive: true, force: true})
      if (opts.kubeconfigPath) fs.rmSync(opts.kubeconfigPath, {force: true})
      if (storeFiles) for (const f of Object.values(storeFiles)) fs.rmSync(f, {force: true})
    },
  }
}

function apiCall(base: string, ca: string, token: string, method: string, p: string, body: unknown): Promise<{status: number; body: any}> {
  return new Promise((resolve, reject) => {
    const data = Buffer.from(JSON.stringify(body))
    const req = https.request(base + p, {method, ca, headers: {authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': data.length, 'user-agent': SANDBOX_USER_AGENT}}, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        try {
          resolve({status: res.statusCode ?? 0, body: JSON.parse(text)})
        } catch {
          resolve({status: res.statusCode ?? 0, body: text})
        }
      })
    })
    req.on('error', reject)
    req.end(data)
  })
}
