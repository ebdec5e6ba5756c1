// The tracebloc client release as `helm install tracebloc tracebloc/client -n tracebloc` renders it
// (docs/protocol.md#discovery), reduced to the objects the ingestion path reads, plus the jobs-manager pod's
// in-process server, and the mysql-client Deployment running a real MariaDB (mysql.ts). Faults: pvcNotBound
// (client-pvc Pending), jobsManager down/notready, mysql down (0 replicas); switch: perIngestionTables.
import type {Duplex} from 'node:stream'
import type {Faults} from '../faults.js'
import type {Kubelet} from '../kubelet/kubelet.js'
import {StatusError, type KObject, type ResourceKey, type Store} from '../types.js'
import {JobsManager, type TokenReviewResult} from './jobs-manager.js'
import {MYSQL_CONFIG, MYSQL_PVC, mysqlDeployment} from './mysql.js'

const R = (group: string, version: string, resource: string): ResourceKey => ({group, version, resource})
const NAMESPACES = R('', 'v1', 'namespaces')
const SERVICEACCOUNTS = R('', 'v1', 'serviceaccounts')
const CONFIGMAPS = R('', 'v1', 'configmaps')
const SECRETS = R('', 'v1', 'secrets')
const PVCS = R('', 'v1', 'persistentvolumeclaims')
const SERVICES = R('', 'v1', 'services')
const DEPLOYMENTS = R('apps', 'v1', 'deployments')

export const CHART_VERSION = '1.9.62'
export const INGESTOR_PROD_DIGEST = 'sha256:05e124945a2ef61868661a9137abb5e75dac96a090cb41a7b4e8be520c4b5873'
export const JOBS_MANAGER_IMAGE = 'docker.io/tracebloc/jobs-manager:prod'

export interface ReleaseOptions {
  store: Store
  faults: Faults
  kubelet: Kubelet
  namespace?: string
  release?: string
  /** MySQL root password, stored in <release>-secrets as MYSQL_ROOT_PASSWORD (the rotated-root chart layout). */
  mysqlRootPassword: string
  reviewToken(token: string): Promise<TokenReviewResult>
}

export interface Release {
  namespace: string
  release: string
  jobsManager: JobsManager
  stop(): void
}

export function chartLabels(release: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'client',
    'app.kubernetes.io/instance': release,
    'app.kubernetes.io/version': CHART_VERSION,
    'app.kubernetes.io/managed-by': 'Helm',
    'helm.sh/chart': `client-${CHART_VERSION}`,
  }
}

export function installRelease(opts: ReleaseOptions): Release {
  const {store, faults, kubelet} = opts
  const ns = opts.namespace ?? 'tracebloc'
  const release = opts.release ?? 'tracebloc'
  const labels = chartLabels(release)
  const annotations = {'meta.helm.sh/release-name': release, 'meta.helm.sh/release-namespace': ns}
  const md = (name: string, extra: Record<string, unknown> = {}) => ({name, namespace: ns, labels, annotations, ...extra})
  const ensure = (k: ResourceKey, o: KObject) => {
    try {
      return store.create(k, o)
    } catch (e) {
      if (e instanceof StatusError && e.code === 409) return store.get(k, o.metadata.namespace, o.metadata.name)!
      throw e
    }
  }

  ensure(NAMESPACES, {apiVersion: 'v1', kind: 'Namespace', metadata: {name: ns, labels: {'kubernetes.io/metadata.name': ns}}, spec: {finalizers: ['kubernetes']}, status: {phase: 'Active'}})
  ensure(SERVICEACCOUNTS, {apiVersion: 'v1', kind: 'ServiceAccount', metadata: {name: 'default', namespace: ns}})
  ensure(SERVICEACCOUNTS, {apiVersion: 'v1', kind: 'ServiceAccount', metadata: md('ingestor')})
  ensure(SERVICEACCOUNTS, {apiVersion: 'v1', kind: 'ServiceAccount', metadata: md(`${release}-jobs-manager`)})
  ensure(CONFIGMAPS, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: md(`${release}-ingestion-authz`),
    data: {'ingestion-authz.yaml': `allowed:\n  - service_account: "ingestor"\n    namespace: "${ns}"\n    table_prefixes:\n      - "*"\n`},
  })
  ensure(SECRETS, {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: md(`${release}-secrets`),
    data: {CLIENT_ID: b64('sandbox-client'), CLIENT_PASSWORD: b64('sandbox-password'), POD_TOKEN_SIGNING_SECRET: b64('sandbox-signing-secret'), MYSQL_ROOT_PASSWORD: b64(opts.mysqlRootPassword)},
  })
  const pvc = (name: string, size: string) => ensure(PVCS, {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: md(name, {annotations: {...annotations, 'helm.sh/resource-policy': 'keep', 'pv.kubernetes.io/bind-completed': 'yes'}, finalizers: ['kubernetes.io/pvc-protection']}),
    spec: {accessModes: ['ReadWriteOnce'], resources: {requests: {storage: size}}, storageClassName: `${release}-storage-class`, volumeMode: 'Filesystem', volumeName: `${release}-${name}-pv`},
    status: {phase: 'Bound', accessModes: ['ReadWriteOnce'], capacity: {storage: size}},
  })
  pvc('client-pvc', '50Gi')
  pvc('client-logs-pvc', '10Gi')
  pvc(MYSQL_PVC, '10Gi')
  ensure(CONFIGMAPS, {apiVersion: 'v1', kind: 'ConfigMap', metadata: md('mysql-client-config'), data: {'mysql.cnf': MYSQL_CONFIG}})
  ensure(DEPLOYMENTS, mysqlDeployment(ns, labels, `${release}-secrets`, faults.get().mysql === 'down' ? 0 : 1))
  for (const [name, port, sel] of [['mysql-client', 3306, {app: 'mysql-client'}], ['requests-proxy-service', 8888, {app: 'requests-proxy'}]] as const) {
    ensure(SERVICES, {apiVersion: 'v1', kind: 'Service', metadata: md(name), spec: {type: 'ClusterIP', clusterIP: clusterIp(name), ports: [{name: 'tcp', port, targetPort: port, protocol: 'TCP'}], selector: sel}})
  }
  ensure(SERVICES, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: md('jobs-manager', {labels: {...labels, app: 'manager'}}),
    spec: {type: 'ClusterIP', clusterIP: clusterIp('jobs-manager'), clusterIPs: [clusterIp('jobs-manager')], ports: [{name: 'http', port: 8080, targetPort: 8080, protocol: 'TCP'}], selector: {app: 'manager'}, sessionAffinity: 'None'},
  })
  ensure(DEPLOYMENTS, jobsManagerDeployment(ns, release, faults.get().jobsManager === 'down' ? 0 : 1))
  const jobsManager = new JobsManager({store, faults, namespace: ns, release, reviewToken: opts.reviewToken})
  kubelet.registerInProcessImage({
    matches: (image) => /(^|\/)tracebloc\/jobs-manager([:@]|$)/.test(image),
    accept(_pod: KObject, port: number, socket: Duplex): boolean {
      if (port !== 8080 || faults.get().jobsManager === 'notready') return false
      jobsManager.server.emit('connection', socket)
      return true
    },
  })

  // The chart's sidecar has nothing to do in the sandbox: it "runs" without a process.
  kubelet.registerInProcessImage({matches: (image) => /(^|\/)tracebloc\/pods-monitor([:@]|$)/.test(image), accept: () => false})

  // Faults that change release objects: PVC phase, jobs-manager replicas.
  const apply = () => {
    const f = faults.get()
    const phase = f.pvcNotBound ? 'Pending' : 'Bound'
    if (store.get(PVCS, ns, 'client-pvc')?.status?.phase !== phase) {
      store.update(PVCS, ns, 'client-pvc', (o) => {
        o.status = phase === 'Bound' ? {phase, accessModes: ['ReadWriteOnce'], capacity: {storage: '50Gi'}} : {phase}
      })
    }
    const replicas = f.jobsManager === 'down' ? 0 : 1
    if (store.get(DEPLOYMENTS, ns, `${release}-jobs-manager`)?.spec?.replicas !== replicas) {
      store.update(DEPLOYMENTS, ns, `${release}-jobs-manager`, (o) => {
        o.spec.replicas = replicas
      })
    }
    const mysqlReplicas = f.mysql === 'down' ? 0 : 1
    if (store.get(DEPLOYMENTS, ns, 'mysql-client')?.spec?.replicas !== mysqlReplicas) {
      store.update(DEPLOYMENTS, ns, 'mysql-client', (o) => {
        o.spec.replicas = mysqlReplicas
      })
    }
  }
  apply()
  const off = faults.onChange(apply)
  return {namespace: ns, release, jobsManager, stop: off}
}

function jobsManagerDeployment(ns: string, release: string, replicas: number): KObject {
  const labels = chartLabels(release)
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {name: `${release}-jobs-manager`, namespace: ns, labels, annotations: {'deployment.kubernetes.io/revision': '1', 'meta.helm.sh/release-name': release, 'meta.helm.sh/release-namespace': ns}},
    spec: {
      replicas,
      strategy: {type: 'Recreate'},
      selector: {matchLabels: {app: 'manager'}},
      template: {
        metadata: {labels: {app: 'manager'}},
        spec: {
          serviceAccountName: `${release}-jobs-manager`,
          terminationGracePeriodSeconds: 60,
          containers: [
            {
              name: 'api',
              image: JOBS_MANAGER_IMAGE,
              imagePullPolicy: 'Always',
              ports: [{name: 'http', containerPort: 8080, protocol: 'TCP'}],
              // The chart's probe is {initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3}; the
              // sandbox scales its times down so a fresh sandbox is usable at once and a fault flips Ready within a second.
              readinessProbe: {tcpSocket: {port: 8080}, initialDelaySeconds: 0, periodSeconds: 1, timeoutSeconds: 3, failureThreshold: 1},
              env: [
                {name: 'CLIENT_ID', valueFrom: {secretKeyRef: {name: `${release}-secrets`, key: 'CLIENT_ID'}}},
                {name: 'CLIENT_PASSWORD', valueFrom: {secretKeyRef: {name: `${release}-secrets`, key: 'CLIENT_PASSWORD'}}},
                {name: 'CLIENT_PVC', value: 'client-pvc'},
                {name: 'CLIENT_LOGS_PVC', value: 'client-logs-pvc'},
                {name: 'MYSQL_HOST', value: 'mysql-client'},
                {name: 'INGESTOR_IMAGE_REPOSITORY', value: 'ghcr.io/tracebloc/ingestor'},
                {name: 'INGESTOR_IMAGE_TAG', value: '0.8'},
                {name: 'INGESTOR_IMAGE_DIGEST', value: INGESTOR_PROD_DIGEST},
                {name: 'REQUESTS_PROXY_URL', value: 'http://requests-proxy-service:8888'},
                {name: 'JOB_IMAGE_HOST', value: 'docker.io/'},
                {name: 'CLIENT_ENV', value: 'prod'},
              ],
              volumeMounts: [
                {name: 'shared-volume', mountPath: '/data/shared'},
                {name: 'logs-volume', mountPath: '/data/logs'},
                {name: 'ingestion-authz', mountPath: '/etc/tracebloc/ingestion-authz.yaml', subPath: 'ingestion-authz.yaml', readOnly: true},
              ],
            },
            {
              name: 'pods-monitor-container',
              image: 'docker.io/tracebloc/pods-monitor:prod',
              volumeMounts: [{name: 'logs-volume', mountPath: '/data/logs'}],
            },
          ],
          volumes: [
            {name: 'shared-volume', persistentVolumeClaim: {claimName: 'client-pvc'}},
            {name: 'logs-volume', persistentVolumeClaim: {claimName: 'client-logs-pvc'}},
            {name: 'ingestion-authz', configMap: {name: `${release}-ingestion-authz`}},
          ],
        },
      },
    },
  }
}

const b64 = (s: string) => Buffer.from(s).toString('base64')

function clusterIp(name: string): string {
  let h = 0
  for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) & 0xffff
  return `10.96.${(h >> 8) % 250}.${(h & 0xff) % 250 + 2}`
}
