// A transport-level PodRuntime for the API server's own tests: exec runs argv as a local child
// process in a per-pod temp dir, port-forward connects to a local TCP port, logs come from a
// per-pod buffer. It is NOT the kubelet (that is test/sandbox/kubelet/); it exists so the API
// server's protocols can be tested alone.
import {spawn} from 'node:child_process'
import {mkdirSync} from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import type {Duplex, Writable} from 'node:stream'
import {StatusError, type ExecIO, type ExecResult, type KObject, type LogOptions, type PodRuntime, type Store} from '../sandbox/types.js'

export class LocalRuntime implements PodRuntime {
  /** pod port → local TCP port */
  readonly portMap = new Map<number, number>()
  readonly logs_ = new Map<string, {lines: string[]; done: boolean; listeners: Set<() => void>}>()
  readonly execs: string[][] = []

  constructor(readonly root: string) {}

  dir(pod: string): string {
    const d = path.join(this.root, pod)
    mkdirSync(d, {recursive: true})
    return d
  }

  async exec(_ns: string, pod: string, _c: string | undefined, argv: string[], io: ExecIO, signal: AbortSignal): Promise<ExecResult> {
    this.execs.push(argv)
    return new Promise((resolve) => {
      const child = spawn(argv[0], argv.slice(1), {cwd: this.dir(pod), stdio: ['pipe', 'pipe', 'pipe']})
      child.on('error', (e) => resolve({error: `failed to exec in container: ${e.message}`}))
      if (io.stdin) io.stdin.pipe(child.stdin)
      else child.stdin.end()
      child.stdin.on('error', () => {})
      if (io.stdout) child.stdout.pipe(io.stdout, {end: false})
      else child.stdout.resume()
      if (io.stderr) child.stderr.pipe(io.stderr, {end: false})
      else child.stderr.resume()
      const kill = () => child.kill('SIGKILL')
      signal.addEventListener('abort', kill)
      child.on('close', (code, sig) => {
        signal.removeEventListener('abort', kill)
        resolve({exitCode: code ?? (sig ? 137 : 1)})
      })
    })
  }

  async connect(_ns: string, _pod: string, port: number): Promise<Duplex> {
    const local = this.portMap.get(port)
    if (!local) throw new Error(`dial tcp 127.0.0.1:${port}: connect: connection refused`)
    return new Promise((resolve, reject) => {
      const s = net.connect(local, '127.0.0.1', () => resolve(s))
      s.once('error', reject)
    })
  }

  log(pod: string, line?: string, done = false): void {
    const l = this.logs_.get(pod) ?? {lines: [], done: false, listeners: new Set()}
    this.logs_.set(pod, l)
    if (line !== undefined) l.lines.push(line)
    if (done) l.done = true
    for (const fn of l.listeners) fn()
  }

  async logs(_ns: string, pod: string, opts: LogOptions, out: Writable, signal: AbortSignal): Promise<void> {
    const l = this.logs_.get(pod) ?? {lines: [], done: true, listeners: new Set()}
    let i = opts.tailLines !== undefined ? Math.max(0, l.lines.length - opts.tailLines) : 0
    const flush = () => {
      for (; i < l.lines.length; i++) out.write(l.lines[i] + '\n')
    }
    flush()
    if (!opts.follow || l.done) return
    await new Promise<void>((resolve) => {
      const on = () => {
        flush()
        if (l.done) done()
      }
      const done = () => {
        l.listeners.delete(on)
        resolve()
      }
      l.listeners.add(on)
      signal.addEventListener('abort', done)
    })
  }
}

/** What a kubelet does on graceful deletion: stop the pod, then remove it. */
export function deleteTerminatingPods(store: Store): () => void {
  const pods = {group: '', version: 'v1', resource: 'pods'}
  return store.subscribe((ev) => {
    if (ev.key.resource !== 'pods' || ev.type !== 'MODIFIED' || !ev.object.metadata.deletionTimestamp) return
    queueMicrotask(() => store.delete(pods, ev.object.metadata.namespace, ev.object.metadata.name))
  })
}

export function runningPod(name: string, namespace: string, labels: Record<string, string> = {}): KObject {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {name, namespace, labels},
    spec: {nodeName: 'sandbox-node', containers: [{name: 'main', image: 'busybox:1.36'}]},
    status: {
      phase: 'Running', podIP: '10.244.0.7', startTime: now,
      conditions: [{type: 'Ready', status: 'True', lastTransitionTime: now}, {type: 'ContainersReady', status: 'True', lastTransitionTime: now}],
      containerStatuses: [{name: 'main', image: 'busybox:1.36', ready: true, started: true, restartCount: 0, state: {running: {startedAt: now}}}],
    },
  }
}

export {StatusError}
