// Contracts between the sandbox's parts, so each can be read (and built) alone:
//   apiserver/  — HTTPS + WebSocket Kubernetes API over an in-memory Store (owns Store, RBAC, exec/portforward transport)
//   kubelet/    — makes pods real: bubblewrap processes with busybox as the image filesystem (implements PodRuntime)
//   release/    — the tracebloc client release: chart objects, jobs-manager, the ingestor emulation
//   faults.ts   — fault knobs shared by all parts
import type {Duplex, Readable, Writable} from 'node:stream'

/** A Kubernetes object as JSON (metadata.name, metadata.namespace, metadata.resourceVersion …). */
export type KObject = Record<string, any> & {apiVersion?: string; kind?: string; metadata: Record<string, any>}

/** Identifies a resource collection: core group is ''. */
export interface ResourceKey {
  group: string
  version: string
  /** Plural lower-case resource name, e.g. 'pods', 'jobs', 'persistentvolumeclaims'. */
  resource: string
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED'
export interface StoreEvent {
  type: WatchEventType
  key: ResourceKey
  object: KObject
  /** MODIFIED: the object before the change (a selector watch turns a match change into ADDED/DELETED). */
  oldObject?: KObject
}

export interface ListOptions {
  namespace?: string
  labelSelector?: string
  fieldSelector?: string
}

/**
 * In-memory object store with a single cluster-wide resourceVersion counter, like etcd.
 * Every mutation bumps the counter, stamps metadata.resourceVersion, fills uid/creationTimestamp
 * on create, and emits a StoreEvent. Errors are thrown as StatusError (HTTP code + reason).
 */
export interface Store {
  create(key: ResourceKey, obj: KObject): KObject
  get(key: ResourceKey, namespace: string | undefined, name: string): KObject | undefined
  list(key: ResourceKey, opts?: ListOptions): {items: KObject[]; resourceVersion: string}
  /** Replace (or apply `mutate` to) an existing object; bumps resourceVersion; emits MODIFIED. */
  update(key: ResourceKey, namespace: string | undefined, name: string, mutate: (o: KObject) => KObject | void): KObject
  delete(key: ResourceKey, namespace: string | undefined, name: string): KObject | undefined
  /** Subscribe to all events (controllers). Returns an unsubscribe function. */
  subscribe(fn: (ev: StoreEvent) => void): () => void
  /**
   * Events after `resourceVersion` for a watch resume, as a watch with `opts` sees them (see
   * `watchEventFor`); throws StatusError 410 when compacted away.
   */
  eventsSince(key: ResourceKey, resourceVersion: string, opts?: ListOptions): StoreEvent[]
  currentResourceVersion(): string
}

/** Error carrying a metav1.Status shape; the API server renders it verbatim. */
export class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Record<string, any>,
  ) {
    super(message)
  }
}

export interface ExecIO {
  stdin?: Readable
  stdout?: Writable
  stderr?: Writable
  tty?: boolean
  /** With tty: emits 'resize' with {width, height} for each channel-4 message from the client. */
  resize?: import('node:events').EventEmitter
}

export type ExecResult = {exitCode: number} | {error: string}

export interface LogOptions {
  container?: string
  follow?: boolean
  tailLines?: number
  sinceTime?: string
  sinceSeconds?: number
  timestamps?: boolean
  previous?: boolean
  limitBytes?: number
}

/**
 * What the API server needs from the kubelet to serve pods/exec, pods/portforward and pods/log.
 * Methods throw StatusError for API-visible failures (e.g. 400 "container … is waiting to start").
 */
export interface PodRuntime {
  exec(namespace: string, pod: string, container: string | undefined, argv: string[], io: ExecIO, signal: AbortSignal): Promise<ExecResult>
  /** A byte stream connected to `port` inside the pod (for port-forward). */
  connect(namespace: string, pod: string, port: number): Promise<Duplex>
  /** Write the container's log to `out`; with follow, keep writing until the container exits or `signal` aborts. */
  logs(namespace: string, pod: string, opts: LogOptions, out: Writable, signal: AbortSignal): Promise<void>
}
