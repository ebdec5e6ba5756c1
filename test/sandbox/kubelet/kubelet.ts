// The sandbox's scheduler + kubelet: watches pods in the Store and makes them real. Containers run
// as bubblewrap processes (network, pid, ipc, uts and user namespaces unshared) over a per-pod busybox
// root, with the pod's volumes bound where the spec mounts them and securityContext uid/gid applied.
// Status, containerStatuses and events are written back the way a real kubelet reports them.
// Images registered with `registerInProcessImage` (jobs-manager) run as in-process servers instead.
import {spawn, type ChildProcess} from 'node:child_process'
import {randomBytes, createHash} from 'node:crypto'
import * as fs from 'node:fs'
import path from 'node:path'
import {duplexPair, type Duplex, type Writable} from 'node:stream'
import type {Faults} from '../faults.js'
import {StatusError, type ExecIO, type ExecResult, type KObject, type LogOptions, type PodRuntime, type ResourceKey, type Store, type StoreEvent} from '../types.js'
import {ContainerLog} from './logs.js'
import {ReadinessWorker, type ProbeResult, type ProbeTarget} from './probes.js'
import {checkHostTools, ingestorImageArgs, isHostRuntimeImage, isIngestorImage, isMysqlImage, makeBusyboxRoot, mysqlImageArgs} from './rootfs.js'

export const PODS: ResourceKey = {group: '', version: 'v1', resource: 'pods'}
export const EVENTS: ResourceKey = {group: '', version: 'v1', resource: 'events'}
export const PVCS: ResourceKey = {group: '', version: 'v1', resource: 'persistentvolumeclaims'}
const SECRETS: ResourceKey = {group: '', version: 'v1', resource: 'secrets'}
const CONFIGMAPS: ResourceKey = {group: '', version: 'v1', resource: 'configmaps'}
export const NODE_NAME = 'sandbox-node'

/** A container image served in-process (e.g. jobs-manager): ports answer `connect`, no OS process. */
export interface InProcessImage {
  matches(image: string): boolean
  /** Hand an accepted connection to the container's server on `port`; false = nothing listens there. */
  accept(pod: KObject, port: number, socket: Duplex): boolean
  /** Readiness of a container that declares no readinessProbe (default ready); a declared probe decides otherwise. */
  ready?(pod: KObject): boolean
}

interface RunningContainer {
  name: string
  image: string
  log: ContainerLog
  proc?: ChildProcess
  inProcess?: InProcessImage
  startedAt: string
  restartCount: number
  /** The container's readinessProbe, running while the container runs. */
  readiness?: ReadinessWorker
  exited?: {code: number; signal?: string; finishedAt: string; reason?: string; message?: string}
}

interface PodState {
  uid: string
  ns: string
  name: string
  dir: string
  rootDir: string
  pod: KObject
  /** bwrap args shared by the containers and every exec (root, volumes, uid/gid). */
  fsArgs: string[]
  containers: Map<string, RunningContainer>
  /** Host directory behind each mount path of containers[0] (emptyDirs, PVCs …). */
  mountDirs: Map<string, string>
  deadlineTimer?: NodeJS.Timeout
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed'
  terminating?: boolean
  deadlineExceeded?: boolean
  execs: Set<ChildProcess>
  /** Network namespace the pod's processes run in (podNetwork); none = unshared, no network. */
  netns?: string
}

/** Plain JSON fragments (status, conditions) — not top-level objects. */
type Json = Record<string, any>

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z')

export interface KubeletOptions {
  store: Store
  faults: Faults
  /** Directory for per-pod roots, logs and emptyDirs. */
  stateDir: string
  /** Host directory of each PVC by claim name (client-pvc → the sandbox's shared data dir). */
  pvcHostDir(namespace: string, claim: string): string
  /** A network for this pod (object-store/): its namespace and extra binds; undefined = no network, as all pods by default. */
  podNetwork?(pod: KObject, rootDir: string): {netns: string; fsArgs: string[]} | undefined
}

export class Kubelet implements PodRuntime {
  private readonly pods = new Map<string, PodState>()
  private readonly inProcess: InProcessImage[] = []
  private unsubscribe?: () => void
  private unsubscribeFaults?: () => void
  private stopped = false
  /** Every bwrap process this kubelet started and that has not exited: stop() kills them all. */
  private readonly procs = new Set<ChildProcess>()

  constructor(private readonly opts: KubeletOptions) {}

  /**
   * Spawns bwrap in its own process group (so a kill reaches whatever it forked) and tracks it.
   * Throws like spawn does (e.g. an env value with a NUL byte): callers turn that into a pod error.
   */
  private spawnTracked(args: string[], stdio: ('ignore' | 'pipe')[], netns?: string): ChildProcess {
    // `ip netns exec` enters the namespace and execs bwrap (same pid); --share-net keeps that namespace
    // (it must follow --unshare-all, which the args start with)
    const proc = netns ? spawn('ip', ['netns', 'exec', netns, 'bwrap', args[0], '--share-net', ...args.slice(1)], {stdio, detached: true}) : spawn('bwrap', args, {stdio, detached: true})
    this.procs.add(proc)
    proc.once('exit', () => this.procs.delete(proc))
    proc.once('error', () => this.procs.delete(proc))
    // When the outer bwrap goes, the container goes: its pid-namespace init (the inner bwrap, same
    // process group) ignores the SIGTERM the outer one dies of and would keep `sleep 600` alive.
    // stdio can outlive the process when something escaped the group: do not let that hold
    // 'close' (and the container's exit) forever either.
    proc.once('exit', () => {
      try {
        if (proc.pid !== undefined) process.kill(-proc.pid, 'SIGKILL')
      } catch {
        // the group is already empty
      }
      setTimeout(() => {
        proc.stdout?.destroy()
        proc.stderr?.destroy()
        proc.stdin?.destroy()
      }, 1000).unref()
    })
    return proc
  }

  registerInProcessImage(img: InProcessImage): void {
    this.inProcess.push(img)
  }

  start(): void {
    checkHostTools()
    fs.mkdirSync(path.join(this.opts.stateDir, 'pods'), {recursive: true})
    this.unsubscribe = this.opts.store.subscribe((ev) => setImmediate(() => this.onEvent(ev)))
    // Fault changes re-evaluate pods parked by a fault (stuckPending, imagePullFailure, PVC not bound).
    this.unsubscribeFaults = this.opts.faults.onChange(() => setImmediate(() => this.resync()))
    for (const p of this.opts.store.list(PODS).items) this.onEvent({type: 'ADDED', key: PODS, object: p})
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.unsubscribe?.()
    this.unsubscribeFaults?.()
    for (const s of this.pods.values()) s.terminating = true // no restarts while stopping
    await Promise.all([...this.pods.values()].map((s) => this.kill(s, 0)))
    // anything left (an exec or a container whose pod state is gone): kill its whole group
    await Promise.all([...this.procs].map((p) => killGroup(p, 0)))
  }

  /** Re-run scheduling for pods that have no running state (parked Pending). */
  resync(): void {
    if (this.stopped) return
    for (const p of this.opts.store.list(PODS).items) {
      if (!this.pods.has(p.metadata.uid) && (p.status?.phase ?? 'Pending') === 'Pending' && !p.metadata.deletionTimestamp) this.schedule(p)
    }
    for (const s of this.pods.values()) {
      for (const c of s.containers.values()) c.readiness?.probeNow()
      this.reportStatus(s)
    }
  }

  private onEvent(ev: StoreEvent): void {
    if (this.stopped) return
    // One bad pod must never take the whole sandbox process down.
    try {
      this.handleEvent(ev)
    } catch (e) {
      console.error(`sandbox kubelet: ${ev.type} ${ev.key.resource} ${ev.object.metadata?.namespace}/${ev.object.metadata?.name}:`, e)
    }
  }

  private handleEvent(ev: StoreEvent): void {
    if (ev.key.resource === 'persistentvolumeclaims' && ev.key.group === '') {
      this.resync()
      return
    }
    if (ev.key.resource !== 'pods' || ev.key.group !== '') return
    const pod = ev.object
    const state = this.pods.get(pod.metadata.uid)
    if (ev.type === 'DELETED') {
      if (state) void this.kill(state, 0).then(() => this.forget(state))
      return
    }
    if (pod.metadata.deletionTimestamp) {
      if (state && !state.terminating) void this.gracefulDelete(state, pod)
      else if (!state) this.removeObject(pod.metadata.namespace, pod.metadata.name, pod.metadata.uid)
      return
    }
    if (ev.type === 'ADDED' && !state && (pod.status?.phase ?? 'Pending') === 'Pending') this.schedule(pod)
  }

  // ---------------------------------------------------------------- scheduling & start

  private schedule(pod: KObject): void {
    const {namespace: ns, name} = pod.metadata
    const f = this.opts.faults.get()
    const unbound = this.unboundClaims(pod)
    if ((f.stuckPending && name.includes(f.stuckPending)) || unbound.length > 0) {
      const why = unbound.length > 0
        ? '0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.'
        : '0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.'
      this.patchStatus(ns, name, () => ({
        phase: 'Pending',
        conditions: [{type: 'PodScheduled', status: 'False', lastProbeTime: null, lastTransitionTime: now(), reason: 'Unschedulable', message: why}],
        qosClass: 'Burstable',
      }))
      this.event(pod, 'Warning', 'FailedScheduling', why, 'default-scheduler')
      return
    }
    if (this.pods.has(pod.metadata.uid)) return
    this.opts.store.update(PODS, ns, name, (o) => {
      o.spec.nodeName = NODE_NAME
    })
    this.event(pod, 'Normal', 'Scheduled', `Successfully assigned ${ns}/${name} to ${NODE_NAME}`, 'default-scheduler')
    const state = this.prepare(pod)
    this.pods.set(pod.metadata.uid, state)
    this.reportStatus(state)
    const pullFail = f.imagePullFailure
    const containers: KObject[] = pod.spec.containers ?? []
    for (const c of containers) {
      if (pullFail && c.image.includes(pullFail)) {
        this.failPull(state, c)
        continue
      }
      this.event(pod, 'Normal', 'Pulling', `Pulling image "${c.image}"`, 'kubelet', `spec.containers{${c.name}}`)
      this.event(pod, 'Normal', 'Pulled', `Successfully pulled image "${c.image}" in 12ms (12ms including waiting). Image size: 2212352 bytes.`, 'kubelet', `spec.containers{${c.name}}`)
      this.startContainer(state, c, 0)
    }
    const deadline = pod.spec.activeDeadlineSeconds
    if (typeof deadline === 'number') {
      const started = Date.parse(pod.metadata.creationTimestamp ?? now())
      state.deadlineTimer = setTimeout(() => void this.deadline(state), Math.max(0, started + deadline * 1000 - Date.now()))
    }
  }

  private unboundClaims(pod: KObject): string[] {
    const claims = (pod.spec.volumes ?? []).filter((v: KObject) => v.persistentVolumeClaim).map((v: KObject) => v.persistentVolumeClaim.claimName as string)
    return claims.filter((c: string) => this.opts.store.get(PVCS, pod.metadata.namespace, c)?.status?.phase !== 'Bound')
  }

  private failPull(state: PodState, c: KObject): void {
    const pod = state.pod
    const ref = `spec.containers{${c.name}}`
    this.event(pod, 'Normal', 'Pulling', `Pulling image "${c.image}"`, 'kubelet', ref)
    const msg = `Failed to pull image "${c.image}": rpc error: code = NotFound desc = failed to pull and unpack image "${c.image}": failed to resolve reference "${c.image}": not found`
    this.event(pod, 'Warning', 'Failed', msg, 'kubelet', ref)
    this.event(pod, 'Warning', 'Failed', 'Error: ErrImagePull', 'kubelet', ref)
    state.containers.set(c.name, {name: c.name, image: c.image, log: new ContainerLog(path.join(state.dir, `${c.name}.log`)), startedAt: '', restartCount: 0, exited: undefined})
    this.waiting.set(`${state.uid}/${c.name}`, {reason: 'ErrImagePull', message: msg})
    this.reportStatus(state)
    setTimeout(() => {
      if (!this.pods.has(state.uid)) return
      this.waiting.set(`${state.uid}/${c.name}`, {reason: 'ImagePullBackOff', message: `Back-off pulling image "${c.image}"`})
      this.event(pod, 'Normal', 'BackOff', `Back-off pulling image "${c.image}"`, 'kubelet', ref)
      this.event(pod, 'Warning', 'Failed', 'Error: ImagePullBackOff', 'kubelet', ref)
      this.reportStatus(state)
    }, 300).unref()
  }

  private readonly waiting = new Map<string, {reason: string; message?: string}>()

  /** Per-pod root, volume dirs and the bwrap filesystem arguments every container and exec shares. */
  private prepare(pod: KObject): PodState {
    const dir = path.join(this.opts.stateDir, 'pods', pod.metadata.uid)
    const rootDir = path.join(dir, 'root')
    fs.mkdirSync(dir, {recursive: true})
    const volumes = new Map<string, string>()
    for (const v of pod.spec.volumes ?? []) {
      if (v.persistentVolumeClaim) volumes.set(v.name, this.opts.pvcHostDir(pod.metadata.namespace, v.persistentVolumeClaim.claimName))
      else if (v.emptyDir) {
        const d = path.join(dir, 'volumes', v.name)
        fs.mkdirSync(d, {recursive: true, mode: 0o777})
        fs.chmodSync(d, 0o777)
        volumes.set(v.name, d)
      } else if (v.configMap || v.secret || v.projected) {
        volumes.set(v.name, this.materialise(pod, v, path.join(dir, 'volumes', v.name)))
      }
    }
    const c0 = (pod.spec.containers ?? [])[0] ?? {}
    const mounts: {dir: string; mountPath: string; ro: boolean}[] = []
    for (const m of c0.volumeMounts ?? []) {
      const host = volumes.get(m.name)
      if (!host) continue
      mounts.push({dir: m.subPath ? path.join(host, m.subPath) : host, mountPath: m.mountPath, ro: !!m.readOnly})
    }
    const ingestor = isIngestorImage(c0.image ?? '')
    const readOnlyRoot = !!c0.securityContext?.readOnlyRootFilesystem
    const fsArgs: string[] = []
    if (isHostRuntimeImage(c0.image ?? '')) {
      // /tmp first: a repo checked out under /tmp (CI clones) must be bound on top of it, not hidden by it
      fsArgs.push('--tmpfs', '/tmp', ...(ingestor ? ingestorImageArgs() : mysqlImageArgs()).binds)
      // Pods have no network to each other here: a client of the mysql-client Service reaches the server
      // through its unix socket, the /var/run/mysqld of a Running pod behind that Service.
      const sock = ingestor ? this.serviceSocketDir(pod.metadata.namespace, (c0.env ?? []).find((e: KObject) => e.name === 'MYSQL_HOST')?.value) : undefined
      if (sock) fsArgs.push('--bind', sock, '/var/run/mysqld')
    } else {
      // a subPath mount of one file (jobs-manager's ingestion-authz.yaml) needs a file to mount over, not a directory
      const isFile = (m: {dir: string}) => fs.statSync(m.dir, {throwIfNoEntry: false})?.isFile() ?? false
      makeBusyboxRoot(rootDir, mounts.filter((m) => !isFile(m)).map((m) => m.mountPath), c0.image ?? '')
      for (const m of mounts.filter(isFile)) {
        fs.mkdirSync(path.join(rootDir, path.dirname(m.mountPath)), {recursive: true})
        fs.writeFileSync(path.join(rootDir, m.mountPath), '')
      }
      fsArgs.push(readOnlyRoot ? '--ro-bind' : '--bind', rootDir, '/')
    }
    const net = isHostRuntimeImage(c0.image ?? '') ? undefined : this.opts.podNetwork?.(pod, rootDir)
    if (net) fsArgs.push(...net.fsArgs)
    fsArgs.push('--proc', '/proc', '--dev', '/dev')
    for (const m of mounts) fsArgs.push(m.ro ? '--ro-bind' : '--bind', m.dir, m.mountPath)
    // pvcFull: a tiny tmpfs over client-pvc's mount, so df in the pod reports it (nearly) full
    if (this.opts.faults.get().pvcFull) for (const m of mounts) if (m.dir === this.opts.pvcHostDir(pod.metadata.namespace, 'client-pvc')) fsArgs.push('--size', String(1 << 20), '--tmpfs', m.mountPath)
    const sc = {...pod.spec.securityContext, ...c0.securityContext}
    const uid = sc.runAsUser ?? (ingestor ? 65534 : 0)
    const gid = sc.runAsGroup ?? (pod.spec.securityContext?.fsGroup ?? uid)
    fsArgs.push('--uid', String(uid), '--gid', String(gid), '--hostname', pod.metadata.name)
    const mountDirs = new Map(mounts.map((m) => [m.mountPath, m.dir]))
    return {uid: pod.metadata.uid, ns: pod.metadata.namespace, name: pod.metadata.name, dir, rootDir, pod, fsArgs, containers: new Map(), mountDirs, phase: 'Pending', execs: new Set(), netns: net?.netns}
  }

  /** Host directory of /var/run/mysqld in a Running pod behind Service `service` (the MySQL socket's home). */
  serviceSocketDir(namespace: string, service: string | undefined): string | undefined {
    if (!service) return undefined
    const svc = this.opts.store.get({group: '', version: 'v1', resource: 'services'}, namespace, service)
    const sel: Record<string, string> | undefined = svc?.spec?.selector
    if (!sel) return undefined
    for (const s of this.pods.values()) {
      if (s.ns !== namespace || s.phase !== 'Running' || s.terminating) continue
      if (!Object.entries(sel).every(([k, v]) => s.pod.metadata.labels?.[k] === v)) continue
      const dir = s.mountDirs.get('/var/run/mysqld')
      if (dir) return dir
    }
    return undefined
  }

  /** configMap / secret / projected (SA token) volumes as files on the host, bound read-only. */
  private materialise(pod: KObject, v: KObject, dir: string): string {
    fs.mkdirSync(dir, {recursive: true})
    const write = (name: string, data: string | Buffer) => {
      fs.mkdirSync(path.dirname(path.join(dir, name)), {recursive: true})
      fs.writeFileSync(path.join(dir, name), data, {mode: 0o644})
    }
    const fromObj = (key: ResourceKey, objName: string, items: KObject[] | undefined, isSecret: boolean) => {
      const o = this.opts.store.get(key, pod.metadata.namespace, objName)
      const data: Record<string, string> = o?.data ?? {}
      const entries = items ? items.map((i) => [i.key, i.path] as const) : Object.keys(data).map((k) => [k, k] as const)
      for (const [k, p] of entries) if (k in data) write(p, isSecret ? Buffer.from(data[k], 'base64') : data[k])
    }
    if (v.configMap) fromObj(CONFIGMAPS, v.configMap.name, v.configMap.items, false)
    if (v.secret) fromObj(SECRETS, v.secret.secretName, v.secret.items, true)
    for (const src of v.projected?.sources ?? []) {
      if (src.configMap) fromObj(CONFIGMAPS, src.configMap.name, src.configMap.items, false)
      if (src.secret) fromObj(SECRETS, src.secret.name, src.secret.items, true)
      if (src.serviceAccountToken) write(src.serviceAccountToken.path ?? 'token', this.tokenFor?.(pod) ?? '')
    }
    return dir
  }

  /** Set by the composition: mints the pod's projected SA token (the API server owns the signing key). */
  tokenFor?: (pod: KObject) => string

  private resolveEnv(pod: KObject, c: KObject): Record<string, string> {
    const env: Record<string, string> = {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOSTNAME: pod.metadata.name,
      KUBERNETES_SERVICE_HOST: '10.96.0.1',
      KUBERNETES_SERVICE_PORT: '443',
    }
    for (const e of c.env ?? []) {
      if (e.value !== undefined) env[e.name] = String(e.value)
      else if (e.valueFrom?.secretKeyRef) {
        const s = this.opts.store.get(SECRETS, pod.metadata.namespace, e.valueFrom.secretKeyRef.name)
        const v = s?.data?.[e.valueFrom.secretKeyRef.key]
        if (v !== undefined) env[e.name] = Buffer.from(v, 'base64').toString('utf8')
        else if (s?.stringData?.[e.valueFrom.secretKeyRef.key] !== undefined) env[e.name] = s.stringData[e.valueFrom.secretKeyRef.key]
      } else if (e.valueFrom?.configMapKeyRef) {
        const cm = this.opts.store.get(CONFIGMAPS, pod.metadata.namespace, e.valueFrom.configMapKeyRef.name)
        const v = cm?.data?.[e.valueFrom.configMapKeyRef.key]
        if (v !== undefined) env[e.name] = v
      } else if (e.valueFrom?.fieldRef) {
        const fp: string = e.valueFrom.fieldRef.fieldPath
        env[e.name] = fp === 'metadata.name' ? pod.metadata.name : fp === 'metadata.namespace' ? pod.metadata.namespace : fp === 'spec.nodeName' ? NODE_NAME : fp === 'spec.serviceAccountName' ? pod.spec.serviceAccountName ?? 'default' : ''
      }
    }
    return env
  }

  private startContainer(state: PodState, c: KObject, restartCount: number): void {
    const pod = state.pod
    const ref = `spec.containers{${c.name}}`
    const log = state.containers.get(c.name)?.log ?? new ContainerLog(path.join(state.dir, `${c.name}.log`))
    const rc: RunningContainer = {name: c.name, image: c.image, log, startedAt: now(), restartCount}
    state.containers.set(c.name, rc)
    this.waiting.delete(`${state.uid}/${c.name}`)
    this.event(pod, 'Normal', 'Created', `Created container: ${c.name}`, 'kubelet', ref)
    const inProc = this.inProcess.find((i) => i.matches(c.image))
    if (inProc) {
      rc.inProcess = inProc
      this.event(pod, 'Normal', 'Started', `Started container ${c.name}`, 'kubelet', ref)
      state.phase = 'Running'
      this.startReadiness(state, c, rc)
      this.reportStatus(state)
      return
    }
    const env = this.resolveEnv(pod, c)
    let argv: string[] = [...(c.command ?? []), ...(c.args ?? [])]
    let cwd = c.workingDir ?? '/'
    if (isMysqlImage(c.image)) {
      const img = mysqlImageArgs()
      argv = img.command
      cwd = img.cwd
    } else if (isIngestorImage(c.image)) {
      const img = ingestorImageArgs()
      argv = img.command
      cwd = img.cwd
      const fault = this.opts.faults.get().ingestor
      if (fault) env.SANDBOX_INGESTOR_FAULT = fault
      const slowMs = this.opts.faults.get().ingestorSlowMs
      if (slowMs) env.SANDBOX_INGESTOR_SLOW_MS = String(slowMs)
      env.SANDBOX_SCHEMA = this.opts.faults.get().serverSchema ?? 'current'
      env.TMPDIR = '/tmp'
      env.HOME = '/tmp'
    } else if (argv.length === 0) argv = ['/bin/sh']
    const args = ['--unshare-all', '--die-with-parent', '--clearenv', ...state.fsArgs, '--chdir', cwd]
    for (const [k, v] of Object.entries(env)) args.push('--setenv', k, v)
    let proc: ChildProcess
    try {
      proc = this.spawnTracked([...args, '--', ...argv], ['ignore', 'pipe', 'pipe'], state.netns)
    } catch (e) {
      // What containerd reports when the task cannot be created: the container ends at once
      // (StartError, exit 128), with a Warning event, and the pod follows its restartPolicy.
      const message = `failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: ${(e as Error).message.split('\n')[0]}`
      log.write('stderr', Buffer.from(`sandbox kubelet: ${message}\n`))
      log.close()
      rc.exited = {code: 128, finishedAt: now(), reason: 'StartError', message}
      this.event(pod, 'Warning', 'Failed', `Error: ${message}`, 'kubelet', ref)
      this.onContainerExit(state, c, rc)
      return
    }
    rc.proc = proc
    proc.stdout!.on('data', (b: Buffer) => log.write('stdout', b))
    proc.stderr!.on('data', (b: Buffer) => log.write('stderr', b))
    proc.on('close', (code, signal) => {
      log.close()
      rc.readiness?.stop()
      rc.exited = {code: code ?? (signal === 'SIGKILL' ? 137 : signal === 'SIGTERM' ? 143 : 1), signal: signal ?? undefined, finishedAt: now()}
      this.onContainerExit(state, c, rc)
    })
    proc.on('error', (e) => log.write('stderr', Buffer.from(`sandbox kubelet: ${e.message}\n`)))
    this.event(pod, 'Normal', 'Started', `Started container ${c.name}`, 'kubelet', ref)
    state.phase = 'Running'
    this.startReadiness(state, c, rc)
    this.reportStatus(state)
  }

  /** Runs the container's readinessProbe while it runs; each failure is an `Unhealthy` event, each flip a status report. */
  private startReadiness(state: PodState, c: KObject, rc: RunningContainer): void {
    if (!c.readinessProbe) return
    const ref = `spec.containers{${c.name}}`
    rc.readiness = new ReadinessWorker(c.readinessProbe, c, this.probeTarget(state, c, rc), (r: ProbeResult, changed: boolean) => {
      if (!this.pods.has(state.uid) || state.terminating || this.stopped || rc.exited) return
      if (!r.ok) this.event(state.pod, 'Warning', 'Unhealthy', `Readiness probe failed: ${(r.output ?? '').trim()}`.trim(), 'kubelet', ref)
      if (changed) this.reportStatus(state)
    })
    rc.readiness.start()
  }

  private probeTarget(state: PodState, c: KObject, rc: RunningContainer): ProbeTarget {
    const run = async (argv: string[], timeoutMs: number): Promise<ProbeResult> => {
      const env = this.resolveEnv(state.pod, c)
      const args = ['--unshare-all', '--die-with-parent', '--clearenv', ...state.fsArgs, '--chdir', c.workingDir ?? '/']
      for (const [k, v] of Object.entries(env)) args.push('--setenv', k, v)
      let proc: ChildProcess
      try {
        proc = this.spawnTracked([...args, '--', ...argv], ['ignore', 'pipe', 'pipe'], state.netns)
      } catch (e) {
        return {ok: false, output: `OCI runtime exec failed: ${(e as Error).message.split('\n')[0]}`}
      }
      state.execs.add(proc)
      let out = ''
      proc.stdout!.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-1024)))
      proc.stderr!.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-1024)))
      let timedOut = false
      const timer = setTimeout(() => {
        timedOut = true
        void killGroup(proc, 0)
      }, timeoutMs)
      const code = await new Promise<number>((resolve) => {
        proc.on('close', (code) => resolve(code ?? 137))
        proc.on('error', () => resolve(126))
      })
      clearTimeout(timer)
      state.execs.delete(proc)
      if (timedOut) return {ok: false, output: `command ${JSON.stringify(argv.join(' '))} timed out`}
      return code === 0 ? {ok: true} : {ok: false, output: out}
    }
    return {
      exec: run,
      connect: async (port) => {
        if (!rc.inProcess || rc.exited) return undefined
        const [mine, theirs] = duplexPair()
        if (rc.inProcess.accept(state.pod, port, theirs)) return mine
        mine.destroy()
        return undefined
      },
      // a process container listens in its pod's own network namespace: the check runs there (busybox nc/wget)
      inPod: rc.inProcess
        ? undefined
        : {
            tcp: async (port, ms) => {
              const r = await run(['nc', '-z', '-w', String(Math.ceil(ms / 1000)), '127.0.0.1', String(port)], ms + 1000)
              return r.ok ? r : {ok: false, output: `dial tcp 127.0.0.1:${port}: connect: connection refused`}
            },
            http: async (url, ms) => {
              const r = await run(['wget', '-q', '-T', String(Math.ceil(ms / 1000)), '-O', '/dev/null', url], ms + 1000)
              return r.ok ? r : {ok: false, output: `Get "${url}": ${r.output?.trim() || 'failed'}`}
            },
          },
    }
  }

  private onContainerExit(state: PodState, c: KObject, rc: RunningContainer): void {
    if (!this.pods.has(state.uid) || state.terminating) {
      this.reportStatus(state)
      return
    }
    const policy = state.pod.spec.restartPolicy ?? 'Always'
    const failed = rc.exited!.code !== 0
    if (!this.stopped && !state.deadlineExceeded && (policy === 'Always' || (policy === 'OnFailure' && failed))) {
      this.event(state.pod, 'Warning', 'BackOff', `Back-off restarting failed container ${c.name} in pod ${state.name}_${state.ns}(${state.uid})`, 'kubelet', `spec.containers{${c.name}}`)
      this.reportStatus(state)
      setTimeout(() => {
        if (this.pods.has(state.uid) && !state.terminating && !this.stopped) this.startContainer(state, c, rc.restartCount + 1)
      }, 500).unref()
      return
    }
    const all = [...state.containers.values()]
    if (all.every((x) => x.exited || x.inProcess)) {
      state.phase = all.every((x) => x.inProcess || x.exited!.code === 0) && !state.deadlineExceeded ? 'Succeeded' : 'Failed'
      if (state.deadlineTimer) clearTimeout(state.deadlineTimer)
    }
    this.reportStatus(state)
  }

  private async deadline(state: PodState): Promise<void> {
    if (!this.pods.has(state.uid) || state.phase === 'Succeeded' || state.phase === 'Failed') return
    state.deadlineExceeded = true
    this.event(state.pod, 'Normal', 'DeadlineExceeded', `Pod was active on the node longer than the specified deadline`, 'kubelet')
    await this.kill(state, state.pod.spec.terminationGracePeriodSeconds ?? 30, true)
    state.phase = 'Failed'
    this.reportStatus(state)
  }

  // ---------------------------------------------------------------- stopping

  /** SIGTERM, then SIGKILL after `grace` seconds (0 = SIGKILL now). Resolves when every process is gone. */
  private async kill(state: PodState, grace: number, keepLogs = false): Promise<void> {
    const procs = [...state.containers.values()].map((c) => c.proc).filter((p): p is ChildProcess => !!p && p.exitCode === null && p.signalCode === null)
    procs.push(...state.execs)
    for (const c of state.containers.values()) c.readiness?.stop()
    if (state.deadlineTimer) clearTimeout(state.deadlineTimer)
    await Promise.all(procs.map((p) => killGroup(p, grace)))
    if (!keepLogs) for (const c of state.containers.values()) c.log.close()
  }

  private async gracefulDelete(state: PodState, pod: KObject): Promise<void> {
    state.terminating = true
    state.pod = pod
    const grace = pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30
    for (const c of state.containers.values()) {
      if (c.proc && !c.exited) this.event(pod, 'Normal', 'Killing', `Stopping container ${c.name}`, 'kubelet', `spec.containers{${c.name}}`)
    }
    await this.kill(state, grace)
    this.removeObject(state.ns, state.name, state.uid)
    this.forget(state)
  }

  private removeObject(ns: string, name: string, uid: string): void {
    const cur = this.opts.store.get(PODS, ns, name)
    if (cur && cur.metadata.uid === uid) {
      try {
        this.opts.store.delete(PODS, ns, name)
      } catch (e) {
        if (!(e instanceof StatusError && e.code === 404)) throw e
      }
    }
  }

  private forget(state: PodState): void {
    this.pods.delete(state.uid)
    fs.rmSync(state.dir, {recursive: true, force: true})
  }

  /** Delete a pod the way the API server does: grace 0 removes it now; otherwise the kubelet stops it first. */
  deletePod(namespace: string, name: string, graceSeconds?: number): KObject | undefined {
    const cur = this.opts.store.get(PODS, namespace, name)
    if (!cur) return undefined
    const state = this.pods.get(cur.metadata.uid)
    const grace = graceSeconds ?? cur.spec.terminationGracePeriodSeconds ?? 30
    if (grace === 0 || !state || state.phase === 'Succeeded' || state.phase === 'Failed' || state.phase === 'Pending') {
      return this.opts.store.delete(PODS, namespace, name)
    }
    return this.opts.store.update(PODS, namespace, name, (o) => {
      o.metadata.deletionTimestamp = new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d+Z$/, 'Z')
      o.metadata.deletionGracePeriodSeconds = grace
    })
  }

  // ---------------------------------------------------------------- status & events

  private reportStatus(state: PodState): void {
    if (!this.opts.store.get(PODS, state.ns, state.name)) return
    const specContainers: KObject[] = state.pod.spec.containers ?? []
    const statuses = specContainers.map((c) => this.containerStatus(state, c))
    const allReady = statuses.length > 0 && statuses.every((s) => s.ready)
    const terminal = state.phase === 'Succeeded' || state.phase === 'Failed'
    const t = now()
    this.patchStatus(state.ns, state.name, (old) => {
      const prev: Json[] = old.conditions ?? []
      const cond = (type: string, ok: boolean, reason?: string) => {
        const status = ok ? 'True' : 'False'
        const before = prev.find((p) => p.type === type)
        const c: Json = {type, status, lastProbeTime: null, lastTransitionTime: before?.status === status ? before.lastTransitionTime : t}
        if (!ok && reason) c.reason = reason
        return c
      }
      const notReady = terminal ? 'PodCompleted' : 'ContainersNotReady'
      const s: Json = {
        phase: state.phase,
        conditions: [
          cond('PodReadyToStartContainers', true),
          cond('Initialized', true, undefined),
          cond('Ready', allReady && !terminal, notReady),
          cond('ContainersReady', allReady && !terminal, notReady),
          cond('PodScheduled', true),
        ],
        hostIP: '10.0.0.10',
        hostIPs: [{ip: '10.0.0.10'}],
        podIP: podIp(state.uid),
        podIPs: [{ip: podIp(state.uid)}],
        startTime: old.startTime ?? t,
        containerStatuses: statuses,
        qosClass: old.qosClass ?? 'Burstable', // set by the API server on create
      }
      if (state.deadlineExceeded) {
        s.reason = 'DeadlineExceeded'
        s.message = `Pod was active on the node longer than the specified deadline`
      }
      return s
    })
  }

  private containerStatus(state: PodState, c: KObject): Json {
    const rc = state.containers.get(c.name)
    const imageID = `${c.image.split('@')[0].replace(/:[^/:]+$/, '')}@sha256:${createHash('sha256').update(c.image).digest('hex')}`
    const base = {name: c.name, image: c.image, imageID: '', restartCount: rc?.restartCount ?? 0, started: false, ready: false}
    const waiting = this.waiting.get(`${state.uid}/${c.name}`)
    if (!rc || waiting) return {...base, state: {waiting: waiting ?? {reason: 'ContainerCreating'}}, lastState: {}}
    const containerID = `containerd://${createHash('sha256').update(`${state.uid}/${c.name}/${rc.restartCount}`).digest('hex')}`
    if (rc.exited) {
      const reason = rc.exited.reason ?? (state.deadlineExceeded && rc.exited.signal ? 'Error' : rc.exited.code === 0 ? 'Completed' : 'Error')
      const term = {exitCode: rc.exited.code, reason, ...(rc.exited.message ? {message: rc.exited.message} : {}), startedAt: rc.startedAt, finishedAt: rc.exited.finishedAt, containerID}
      const restarting = !state.terminating && state.phase === 'Running'
      if (restarting) return {...base, imageID, containerID, state: {waiting: {reason: 'CrashLoopBackOff', message: `back-off 10s restarting failed container=${c.name} pod=${state.name}_${state.ns}(${state.uid})`}}, lastState: {terminated: term}}
      return {...base, imageID, containerID, state: {terminated: term}, lastState: {}}
    }
    const ready = rc.readiness ? rc.readiness.ready : rc.inProcess?.ready ? rc.inProcess.ready(state.pod) : true
    return {...base, imageID, containerID, started: true, ready, state: {running: {startedAt: rc.startedAt}}, lastState: {}}
  }

  private patchStatus(ns: string, name: string, fn: (old: Json) => Json): void {
    try {
      this.opts.store.update(PODS, ns, name, (o) => {
        o.status = fn(o.status ?? {})
      })
    } catch (e) {
      if (!(e instanceof StatusError && e.code === 404)) throw e
    }
  }

  private eventSeq = 0
  event(obj: KObject, type: 'Normal' | 'Warning', reason: string, message: string, component: string, fieldPath?: string): void {
    const t = now()
    const md = obj.metadata
    try {
      this.opts.store.create(EVENTS, {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: {name: `${md.name}.${(Date.now() * 1000 + this.eventSeq++).toString(16)}`, namespace: md.namespace},
        involvedObject: {apiVersion: obj.apiVersion ?? 'v1', kind: obj.kind ?? 'Pod', name: md.name, namespace: md.namespace, uid: md.uid, ...(fieldPath ? {fieldPath} : {})},
        reason,
        message,
        source: {component, ...(component === 'kubelet' ? {host: NODE_NAME} : {})},
        firstTimestamp: t,
        lastTimestamp: t,
        count: 1,
        type,
        eventTime: null,
        reportingComponent: component,
        reportingInstance: component === 'kubelet' ? NODE_NAME : '',
      })
    } catch {
      // events are best effort, as in a real cluster
    }
  }

  // ---------------------------------------------------------------- PodRuntime

  private runningState(namespace: string, pod: string): {obj: KObject; state: PodState | undefined} {
    const obj = this.opts.store.get(PODS, namespace, pod)
    if (!obj) throw new StatusError(404, 'NotFound', `pods "${pod}" not found`, {name: pod, kind: 'pods'})
    return {obj, state: this.pods.get(obj.metadata.uid)}
  }

  private pickContainer(obj: KObject, container: string | undefined): KObject {
    const cs: KObject[] = obj.spec.containers ?? []
    if (!container) return cs[0]
    const c = cs.find((x) => x.name === container)
    if (!c) throw new StatusError(400, 'BadRequest', `container ${container} is not valid for pod ${obj.metadata.name}`)
    return c
  }

  async exec(namespace: string, pod: string, container: string | undefined, argv: string[], io: ExecIO, signal: AbortSignal): Promise<ExecResult> {
    const {obj, state} = this.runningState(namespace, pod)
    const phase = obj.status?.phase
    if (phase === 'Succeeded' || phase === 'Failed') throw new StatusError(400, 'BadRequest', `cannot exec into a container in a completed pod; current phase is ${phase}`)
    const c = this.pickContainer(obj, container)
    const rc = state?.containers.get(c.name)
    // An in-process container (jobs-manager) still has its pod's filesystem: exec runs there (sh, du …).
    if (!state || !rc || rc.exited || this.waiting.has(`${state.uid}/${c.name}`)) {
      throw new StatusError(400, 'BadRequest', `unable to upgrade connection: container not found ("${c.name}")`)
    }
    const env = this.resolveEnv(state.pod, c)
    const args = ['--unshare-all', '--die-with-parent', '--clearenv', ...state.fsArgs, '--chdir', c.workingDir ?? '/']
    for (const [k, v] of Object.entries(env)) args.push('--setenv', k, v)
    let proc: ChildProcess
    try {
      proc = this.spawnTracked([...args, '--', ...argv], ['pipe', 'pipe', 'pipe'], state.netns)
    } catch (e) {
      // as the runtime reports a failed exec: status Failure, InternalError
      return {error: `failed to start exec: OCI runtime exec failed: ${(e as Error).message.split('\n')[0]}`}
    }
    state.execs.add(proc)
    const onAbort = () => proc.kill('SIGKILL')
    signal.addEventListener('abort', onAbort)
    const drained = [pipeOut(proc.stdout!, io.stdout), pipeOut(proc.stderr!, io.stderr)]
    if (io.stdin) {
      io.stdin.pipe(proc.stdin!)
      proc.stdin!.on('error', () => {})
    } else proc.stdin!.end()
    const code = await new Promise<number>((resolve) => {
      proc.on('close', (code, sig) => resolve(code ?? (sig === 'SIGKILL' ? 137 : 143)))
      proc.on('error', () => resolve(126))
    })
    await Promise.all(drained)
    signal.removeEventListener('abort', onAbort)
    io.stdin?.unpipe(proc.stdin!)
    state.execs.delete(proc)
    return {exitCode: code}
  }

  async connect(namespace: string, pod: string, port: number): Promise<Duplex> {
    const {obj, state} = this.runningState(namespace, pod)
    const fail = () => new Error(`error forwarding port ${port} to pod ${obj.metadata.uid}, uid : failed to execute portforward in network namespace "/var/run/netns/cni-${obj.metadata.uid}": failed to connect to localhost:${port} inside namespace "${obj.metadata.uid}", IPv4: dial tcp4 127.0.0.1:${port}: connect: connection refused IPv6 dial tcp6 [::1]:${port}: connect: connection refused `)
    if (!state || obj.status?.phase !== 'Running') throw new StatusError(400, 'BadRequest', `unable to upgrade connection: pod not running`)
    for (const rc of state.containers.values()) {
      if (!rc.inProcess || rc.exited) continue
      const [mine, theirs] = duplexPair()
      if (rc.inProcess.accept(state.pod, port, theirs)) return mine
    }
    throw fail()
  }

  async logs(namespace: string, pod: string, opts: LogOptions, out: Writable, signal: AbortSignal): Promise<void> {
    const {obj, state} = this.runningState(namespace, pod)
    const c = this.pickContainer(obj, opts.container)
    const rc = state?.containers.get(c.name)
    const waiting = state ? this.waiting.get(`${state.uid}/${c.name}`) : undefined
    if (!rc || waiting) {
      const reason = waiting?.reason ?? 'ContainerCreating'
      const msg = reason === 'ContainerCreating'
        ? `container "${c.name}" in pod "${pod}" is waiting to start: ContainerCreating`
        : `container "${c.name}" in pod "${pod}" is waiting to start: trying and failing to pull image`
      throw new StatusError(400, 'BadRequest', msg)
    }
    const cut = this.opts.faults.get().cutLogStreamAfterBytes
    // The API server answers a throw after bytes were written by destroying the connection mid-body.
    if (await rc.log.read(opts, out, signal, cut)) throw new Error(`log stream cut after ${cut} bytes (fault cutLogStreamAfterBytes)`)
  }

  /** Test/diagnostic helper: the host directory of a pod's root filesystem. */
  podRootDir(namespace: string, pod: string): string | undefined {
    const o = this.opts.store.get(PODS, namespace, pod)
    return o ? this.pods.get(o.metadata.uid)?.rootDir : undefined
  }
}

/** SIGTERM (then SIGKILL after `grace` s; 0 = SIGKILL now) to the process group; resolves on exit. */
function killGroup(p: ChildProcess, grace: number): Promise<void> {
  return new Promise<void>((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null || p.pid === undefined) return resolve()
    p.once('exit', () => resolve())
    const signal = (sig: NodeJS.Signals) => {
      try {
        process.kill(-p.pid!, sig)
      } catch {
        p.kill(sig) // the group is gone already: the process itself, if still there
      }
    }
    if (grace <= 0) signal('SIGKILL')
    else {
      signal('SIGTERM')
      setTimeout(() => signal('SIGKILL'), grace * 1000).unref()
    }
  })
}

function podIp(uid: string): string {
  const h = createHash('sha256').update(uid).digest()
  return `10.244.0.${(h[0] % 250) + 2}`
}

function pipeOut(from: NodeJS.ReadableStream, to: Writable | undefined): Promise<void> {
  return new Promise((resolve) => {
    from.on('data', (b: Buffer) => {
      if (to && !to.destroyed && !to.writableEnded) to.write(b)
    })
    from.on('end', resolve)
    from.on('close', resolve)
  })
}

export const randomSuffix = (n = 5): string => {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789'
  return [...randomBytes(n)].map((b) => alphabet[b % alphabet.length]).join('')
}
