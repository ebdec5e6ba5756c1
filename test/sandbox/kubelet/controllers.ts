// kube-controller-manager, the parts the tracebloc flow touches: the Job controller (batch/v1: pods
// `<job>-<5 random>` labelled job-name, backoffLimit retries, status counters and conditions), a
// Deployment controller good enough for jobs-manager (one pod, `<deploy>-<hash>-<5 random>`), Service
// Endpoints from Ready pods, and garbage collection of owned pods when their owner goes away.
import {createHash} from 'node:crypto'
import {StatusError, type KObject, type ResourceKey, type Store, type StoreEvent} from '../types.js'

type Json = Record<string, any>
import {PODS, randomSuffix, type Kubelet} from './kubelet.js'

export const JOBS: ResourceKey = {group: 'batch', version: 'v1', resource: 'jobs'}
export const DEPLOYMENTS: ResourceKey = {group: 'apps', version: 'v1', resource: 'deployments'}
export const SERVICES: ResourceKey = {group: '', version: 'v1', resource: 'services'}
export const ENDPOINTS: ResourceKey = {group: '', version: 'v1', resource: 'endpoints'}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z')

function ownerRef(kind: string, apiVersion: string, o: KObject): Json {
  return {apiVersion, kind, name: o.metadata.name, uid: o.metadata.uid, controller: true, blockOwnerDeletion: true}
}

function ownedBy(pod: KObject, uid: string): boolean {
  return (pod.metadata.ownerReferences ?? []).some((r: KObject) => r.uid === uid)
}

function selectorMatches(sel: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!sel) return false
  return Object.entries(sel).every(([k, v]) => labels?.[k] === v)
}

export class Controllers {
  private unsubscribe?: () => void
  private stopped = false
  private readonly busy = new Set<string>()

  constructor(private readonly store: Store, private readonly kubelet: Kubelet) {}

  start(): void {
    this.unsubscribe = this.store.subscribe((ev) => setImmediate(() => this.onEvent(ev)))
    for (const j of this.store.list(JOBS).items) this.syncJob(j.metadata.namespace, j.metadata.name)
    for (const d of this.store.list(DEPLOYMENTS).items) this.syncDeployment(d.metadata.namespace, d.metadata.name)
    for (const s of this.store.list(SERVICES).items) this.syncEndpoints(s.metadata.namespace, s.metadata.name)
  }

  stop(): void {
    this.stopped = true
    this.unsubscribe?.()
  }

  private onEvent(ev: StoreEvent): void {
    if (this.stopped) return
    const {key, object: o, type} = ev
    const ns = o.metadata.namespace
    if (key.group === 'batch' && key.resource === 'jobs') {
      // A deleted Job's pods are the garbage collector's (apiserver): it honours propagationPolicy.
      if (type !== 'DELETED') this.syncJob(ns, o.metadata.name)
    } else if (key.group === 'apps' && key.resource === 'deployments') {
      if (type === 'DELETED') this.collect(o, 'Deployment')
      else this.syncDeployment(ns, o.metadata.name)
    } else if (key.group === '' && key.resource === 'services' && type !== 'DELETED') {
      this.syncEndpoints(ns, o.metadata.name)
    } else if (key.group === '' && key.resource === 'pods') {
      for (const ref of o.metadata.ownerReferences ?? []) {
        if (ref.kind === 'Job') this.syncJob(ns, ref.name)
        if (ref.kind === 'Deployment') this.syncDeployment(ns, ref.name)
        // a Deployment's pods are owned by its ReplicaSet (which carries the Deployment's uid here): its status follows them
        if (ref.kind === 'ReplicaSet') {
          const d = this.store.list(DEPLOYMENTS, {namespace: ns}).items.find((x) => x.metadata.uid === ref.uid)
          if (d) this.syncDeployment(ns, d.metadata.name)
        }
      }
      for (const s of this.store.list(SERVICES, {namespace: ns}).items) {
        if (selectorMatches(s.spec?.selector, o.metadata.labels)) this.syncEndpoints(ns, s.metadata.name)
      }
    }
  }

  /** Background propagation: owned pods go when the owner goes. */
  private collect(owner: KObject, kind: string): void {
    for (const p of this.store.list(PODS, {namespace: owner.metadata.namespace}).items) {
      if (ownedBy(p, owner.metadata.uid) && !p.metadata.deletionTimestamp) {
        void kind
        try {
          this.kubelet.deletePod(p.metadata.namespace, p.metadata.name)
        } catch (e) {
          if (!(e instanceof StatusError && e.code === 404)) throw e
        }
      }
    }
  }

  private guard(id: string, fn: () => void): void {
    if (this.busy.has(id)) return
    this.busy.add(id)
    try {
      fn()
    } finally {
      this.busy.delete(id)
    }
  }

  syncJob(ns: string, name: string): void {
    this.guard(`job/${ns}/${name}`, () => {
      const job = this.store.get(JOBS, ns, name)
      if (!job || job.metadata.deletionTimestamp) return
      const conds: Json[] = job.status?.conditions ?? []
      const finished = conds.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')
      const pods = this.store.list(PODS, {namespace: ns}).items.filter((p) => ownedBy(p, job.metadata.uid))
      const phase = (p: KObject) => p.status?.phase ?? 'Pending'
      // Counts never go down when a finished pod is deleted (the real controller tracks them with a
      // pod finalizer, batch.kubernetes.io/job-tracking).
      const succeeded = Math.max(job.status?.succeeded ?? 0, pods.filter((p) => phase(p) === 'Succeeded').length)
      const failed = Math.max(job.status?.failed ?? 0, pods.filter((p) => phase(p) === 'Failed').length)
      const active = pods.filter((p) => !['Succeeded', 'Failed'].includes(phase(p)) && !p.metadata.deletionTimestamp)
      const ready = active.filter((p) => (p.status?.conditions ?? []).some((c: KObject) => c.type === 'Ready' && c.status === 'True')).length
      const completions = job.spec.completions ?? 1
      const backoffLimit = job.spec.backoffLimit ?? 6
      const t = now()
      let newConds: Json[] | undefined
      if (!finished) {
        const deadline = job.spec.activeDeadlineSeconds
        const startTime = job.status?.startTime ? Date.parse(job.status.startTime) : Date.now()
        if (succeeded >= completions) {
          newConds = [
            {type: 'SuccessCriteriaMet', status: 'True', lastProbeTime: t, lastTransitionTime: t, reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods'},
            {type: 'Complete', status: 'True', lastProbeTime: t, lastTransitionTime: t, reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods'},
          ]
        } else if (failed > backoffLimit) {
          newConds = [
            {type: 'FailureTarget', status: 'True', lastProbeTime: t, lastTransitionTime: t, reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit'},
            {type: 'Failed', status: 'True', lastProbeTime: t, lastTransitionTime: t, reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit'},
          ]
        } else if (typeof deadline === 'number' && Date.now() - startTime > deadline * 1000) {
          newConds = [
            {type: 'FailureTarget', status: 'True', lastProbeTime: t, lastTransitionTime: t, reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline'},
            {type: 'Failed', status: 'True', lastProbeTime: t, lastTransitionTime: t, reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline'},
          ]
          for (const p of active) this.kubelet.deletePod(ns, p.metadata.name)
        } else if (active.length === 0 && !job.spec.suspend) {
          this.createJobPod(job)
          if (typeof deadline === 'number' && !job.status?.startTime) {
            setTimeout(() => this.syncJob(ns, name), deadline * 1000 + 50).unref()
          }
          return // the pod's ADDED event re-syncs the Job
        }
      }
      this.store.update(JOBS, ns, name, (o) => {
        const s = (o.status ??= {})
        s.startTime ??= t
        s.active = finished || newConds ? undefined : active.length || undefined
        s.ready = finished || newConds ? 0 : ready
        s.terminating = 0
        s.uncountedTerminatedPods = {}
        if (succeeded) s.succeeded = succeeded
        else delete s.succeeded
        if (failed) s.failed = failed
        else delete s.failed
        if (s.active === undefined) delete s.active
        if (newConds) {
          const c = newConds[newConds.length - 1]
          this.kubelet.event({...job, apiVersion: 'batch/v1', kind: 'Job'}, c.type === 'Complete' ? 'Normal' : 'Warning', c.type === 'Complete' ? 'Completed' : c.reason, c.type === 'Complete' ? 'Job completed' : c.message, 'job-controller')
          s.conditions = [...conds, ...newConds]
          if (newConds.some((c) => c.type === 'Complete')) s.completionTime = t
        }
      })
    })
  }

  private createJobPod(job: KObject): void {
    const tpl = job.spec.template ?? {}
    const name = `${job.metadata.name}-${randomSuffix(5)}`
    const labels = {
      ...tpl.metadata?.labels,
      'batch.kubernetes.io/controller-uid': job.metadata.uid,
      'batch.kubernetes.io/job-name': job.metadata.name,
      'controller-uid': job.metadata.uid,
      'job-name': job.metadata.name,
    }
    this.kubelet.event({...job, apiVersion: 'batch/v1', kind: 'Job'}, 'Normal', 'SuccessfulCreate', `Created pod: ${name}`, 'job-controller')
    this.store.create(PODS, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {name, generateName: `${job.metadata.name}-`, namespace: job.metadata.namespace, labels, annotations: {...tpl.metadata?.annotations, 'batch.kubernetes.io/job-tracking': ''}, ownerReferences: [ownerRef('Job', 'batch/v1', job)]},
      spec: {restartPolicy: 'Never', terminationGracePeriodSeconds: 30, dnsPolicy: 'ClusterFirst', schedulerName: 'default-scheduler', serviceAccountName: 'default', ...structuredClone(tpl.spec ?? {})},
      status: {phase: 'Pending', qosClass: 'BestEffort'},
    })
  }

  syncDeployment(ns: string, name: string): void {
    this.guard(`deploy/${ns}/${name}`, () => {
      const d = this.store.get(DEPLOYMENTS, ns, name)
      if (!d || d.metadata.deletionTimestamp) return
      const tpl = d.spec.template ?? {}
      const hash = createHash('sha256').update(JSON.stringify(tpl)).digest('hex').slice(0, 10).replace(/[aeiou]/g, 'x')
      const pods = this.store.list(PODS, {namespace: ns}).items.filter((p) => ownedBy(p, d.metadata.uid))
      const live = pods.filter((p) => !p.metadata.deletionTimestamp && !['Succeeded', 'Failed'].includes(p.status?.phase))
      const replicas = d.spec.replicas ?? 1
      for (let i = live.length; i < replicas; i++) {
        this.store.create(PODS, {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {name: `${name}-${hash}-${randomSuffix(5)}`, namespace: ns, labels: {...tpl.metadata?.labels, 'pod-template-hash': hash}, annotations: tpl.metadata?.annotations, ownerReferences: [ownerRef('ReplicaSet', 'apps/v1', {metadata: {name: `${name}-${hash}`, uid: d.metadata.uid}})]},
          spec: {restartPolicy: 'Always', terminationGracePeriodSeconds: 30, dnsPolicy: 'ClusterFirst', schedulerName: 'default-scheduler', ...structuredClone(tpl.spec ?? {})},
          status: {phase: 'Pending'},
        })
      }
      for (const p of live.slice(replicas)) this.kubelet.deletePod(ns, p.metadata.name)
      const ready = live.filter((p) => (p.status?.conditions ?? []).some((c: KObject) => c.type === 'Ready' && c.status === 'True')).length
      const t = now()
      this.store.update(DEPLOYMENTS, ns, name, (o) => {
        const avail = ready >= replicas
        const prev: Json[] = o.status?.conditions ?? []
        const cond = (type: string, ok: boolean, reason: string, message: string) => {
          const b = prev.find((c) => c.type === type)
          const status = ok ? 'True' : 'False'
          return {type, status, lastUpdateTime: b?.status === status ? b.lastUpdateTime : t, lastTransitionTime: b?.status === status ? b.lastTransitionTime : t, reason, message}
        }
        o.status = {
          observedGeneration: o.metadata.generation ?? 1,
          replicas: live.length || undefined,
          updatedReplicas: live.length || undefined,
          readyReplicas: ready || undefined,
          availableReplicas: ready || undefined,
          unavailableReplicas: replicas - ready > 0 ? replicas - ready : undefined,
          conditions: [
            cond('Available', avail, avail ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable', avail ? 'Deployment has minimum availability.' : 'Deployment does not have minimum availability.'),
            cond('Progressing', true, 'NewReplicaSetAvailable', `ReplicaSet "${name}-${hash}" has successfully progressed.`),
          ],
        }
        for (const k of Object.keys(o.status)) if (o.status[k] === undefined) delete o.status[k]
      })
    })
  }

  syncEndpoints(ns: string, name: string): void {
    const svc = this.store.get(SERVICES, ns, name)
    if (!svc?.spec?.selector) return
    const pods = this.store.list(PODS, {namespace: ns}).items.filter((p) => selectorMatches(svc.spec.selector, p.metadata.labels) && p.status?.podIP)
    const isReady = (p: KObject) => (p.status?.conditions ?? []).some((c: KObject) => c.type === 'Ready' && c.status === 'True')
    const addr = (p: KObject) => ({ip: p.status.podIP, nodeName: p.spec.nodeName, targetRef: {kind: 'Pod', namespace: ns, name: p.metadata.name, uid: p.metadata.uid}})
    const readyPods = pods.filter(isReady)
    const notReady = pods.filter((p) => !isReady(p) && p.status?.phase === 'Running')
    const ports = (svc.spec.ports ?? []).map((p: KObject) => ({name: p.name, port: typeof p.targetPort === 'number' ? p.targetPort : p.port, protocol: p.protocol ?? 'TCP'}))
    const subsets = readyPods.length || notReady.length
      ? [{...(readyPods.length ? {addresses: readyPods.map(addr)} : {}), ...(notReady.length ? {notReadyAddresses: notReady.map(addr)} : {}), ports}]
      : []
    const existing = this.store.get(ENDPOINTS, ns, name)
    if (!existing) {
      this.store.create(ENDPOINTS, {apiVersion: 'v1', kind: 'Endpoints', metadata: {name, namespace: ns, labels: svc.metadata.labels}, subsets})
    } else {
      this.store.update(ENDPOINTS, ns, name, (o) => {
        o.subsets = subsets
      })
    }
  }
}
