// In-memory object store with one cluster-wide resourceVersion counter, like etcd behind kube-apiserver.
//
// Semantics the rest of the sandbox can rely on:
// - every mutation bumps the counter, stamps metadata.resourceVersion and emits one StoreEvent
//   synchronously to subscribers (controllers: kubelet, job controller …) before the call returns;
// - update() whose result equals the stored object is a no-op (no RV bump, no event), so controllers
//   that write status in a loop do not feed themselves;
// - a bounded history of events serves watch resumes; a resourceVersion older than the oldest
//   retained event throws StatusError 410 Expired (`compact()` forces that in tests).
// - objects handed out are copies: mutate them freely.
import {randomUUID, randomBytes} from 'node:crypto'
import {StatusError, type KObject, type ListOptions, type ResourceKey, type Store, type StoreEvent} from '../types.js'
import {parseFieldSelector, parseLabelSelector} from './selectors.js'

interface HistoryEntry {
  rv: number
  ev: StoreEvent
}

const keyOf = (k: ResourceKey): string => `${k.group}/${k.resource}`
const idOf = (ns: string | undefined, name: string): string => `${ns ?? ''}/${name}`
const clone = <T>(o: T): T => structuredClone(o)

/** `pods` → `pods`, `batch/jobs` → `jobs.batch` as the API server names a resource in messages. */
export function qualifiedResource(k: ResourceKey): string {
  return k.group ? `${k.resource}.${k.group}` : k.resource
}

export function matchesOptions(o: KObject, opts: ListOptions | undefined): boolean {
  if (!opts) return true
  if (opts.namespace && o.metadata?.namespace !== opts.namespace) return false
  return parseLabelSelector(opts.labelSelector)(o) && parseFieldSelector(opts.fieldSelector)(o)
}

/**
 * What a watch with selectors sends for a store event, as kube-apiserver's cacher does: an object
 * that starts matching is ADDED, one that stops matching is DELETED (previous content, new RV),
 * events of objects that never matched are dropped.
 */
export function watchEventFor(ev: StoreEvent, opts: ListOptions | undefined): {type: StoreEvent['type']; object: KObject} | undefined {
  const cur = matchesOptions(ev.object, opts)
  if (ev.type !== 'MODIFIED') return cur ? {type: ev.type, object: ev.object} : undefined
  const old = ev.oldObject ? matchesOptions(ev.oldObject, opts) : cur
  if (cur) return {type: old ? 'MODIFIED' : 'ADDED', object: ev.object}
  if (!old) return undefined
  const prev = clone(ev.oldObject!)
  prev.metadata.resourceVersion = ev.object.metadata.resourceVersion
  return {type: 'DELETED', object: prev}
}

export class MemoryStore implements Store {
  private rv = 1
  private readonly data = new Map<string, Map<string, KObject>>()
  private readonly history: HistoryEntry[] = []
  /** Events with rv <= this are gone from history: resuming from an older rv is 410. */
  private compactedRv = 1
  private readonly subscribers = new Set<(ev: StoreEvent) => void>()

  constructor(private readonly historyLimit = 2000) {}

  private bucket(k: ResourceKey): Map<string, KObject> {
    let b = this.data.get(keyOf(k))
    if (!b) this.data.set(keyOf(k), (b = new Map()))
    return b
  }

  private emit(type: StoreEvent['type'], key: ResourceKey, obj: KObject, old?: KObject): void {
    const ev: StoreEvent = {type, key, object: clone(obj), ...(old ? {oldObject: clone(old)} : {})}
    this.history.push({rv: this.rv, ev})
    while (this.history.length > this.historyLimit) this.compactedRv = this.history.shift()!.rv
    for (const fn of [...this.subscribers]) {
      try {
        fn({type, key, object: clone(obj), ...(old ? {oldObject: clone(old)} : {})})
      } catch (e) {
        // A failing controller must not break the API request that triggered it.
        console.error('store subscriber failed:', e)
      }
    }
  }

  create(key: ResourceKey, obj: KObject): KObject {
    const o = clone(obj)
    o.metadata ??= {}
    const md = o.metadata
    if (!md.name && md.generateName) md.name = md.generateName + randomBytes(4).toString('hex').slice(0, 5)
    if (!md.name) throw new StatusError(422, 'Invalid', `${key.resource} "" is invalid: metadata.name: Required value: name or generateName is required`, {kind: key.resource, causes: [{reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name'}]})
    const b = this.bucket(key)
    const id = idOf(md.namespace, md.name)
    if (b.has(id)) {
      throw new StatusError(409, 'AlreadyExists', `${qualifiedResource(key)} "${md.name}" already exists`, {name: md.name, group: key.group || undefined, kind: key.resource})
    }
    this.rv++
    md.uid ??= randomUUID()
    md.creationTimestamp ??= new Date().toISOString().replace(/\.\d+Z$/, 'Z')
    md.resourceVersion = String(this.rv)
    md.generation ??= 1
    b.set(id, o)
    this.emit('ADDED', key, o)
    return clone(o)
  }

  get(key: ResourceKey, namespace: string | undefined, name: string): KObject | undefined {
    const o = this.bucket(key).get(idOf(namespace, name))
    return o ? clone(o) : undefined
  }

  list(key: ResourceKey, opts?: ListOptions): {items: KObject[]; resourceVersion: string} {
    const items = [...this.bucket(key).values()]
      .filter((o) => matchesOptions(o, opts))
      .sort((a, b) => idOf(a.metadata.namespace, a.metadata.name).localeCompare(idOf(b.metadata.namespace, b.metadata.name)))
      .map(clone)
    return {items, resourceVersion: String(this.rv)}
  }

  update(key: ResourceKey, namespace: string | undefined, name: string, mutate: (o: KObject) => KObject | void): KObject {
    const b = this.bucket(key)
    const id = idOf(namespace, name)
    const cur = b.get(id)
    if (!cur) throw notFound(key, name)
    const draft = clone(cur)
    const next = (mutate(draft) ?? draft) as KObject
    next.metadata ??= {}
    // Identity fields are owned by the store.
    for (const f of ['name', 'namespace', 'uid', 'creationTimestamp'] as const) next.metadata[f] = cur.metadata[f]
    if (next.metadata.namespace === undefined) delete next.metadata.namespace
    next.metadata.resourceVersion = cur.metadata.resourceVersion
    if (JSON.stringify(next) === JSON.stringify(cur)) return clone(cur)
    if (JSON.stringify(next.spec) !== JSON.stringify(cur.spec)) next.metadata.generation = (cur.metadata.generation ?? 1) + 1
    this.rv++
    next.metadata.resourceVersion = String(this.rv)
    b.set(id, next)
    this.emit('MODIFIED', key, next, cur)
    return clone(next)
  }

  delete(key: ResourceKey, namespace: string | undefined, name: string): KObject | undefined {
    const b = this.bucket(key)
    const id = idOf(namespace, name)
    const cur = b.get(id)
    if (!cur) return undefined
    b.delete(id)
    this.rv++
    cur.metadata.resourceVersion = String(this.rv)
    this.emit('DELETED', key, cur)
    return clone(cur)
  }

  subscribe(fn: (ev: StoreEvent) => void): () => void {
    this.subscribers.add(fn)
    return () => this.subscribers.delete(fn)
  }

  eventsSince(key: ResourceKey, resourceVersion: string, opts?: ListOptions): StoreEvent[] {
    const from = Number(resourceVersion)
    if (!Number.isFinite(from) || from < 0) throw new StatusError(400, 'BadRequest', `invalid resource version: ${resourceVersion}`)
    if (from < this.compactedRv) throw expired(from, this.compactedRv)
    const k = keyOf(key)
    const out: StoreEvent[] = []
    for (const h of this.history) {
      if (h.rv <= from || keyOf(h.ev.key) !== k) continue
      const w = watchEventFor(h.ev, opts)
      if (w) out.push({type: w.type, key: h.ev.key, object: clone(w.object)})
    }
    return out
  }

  currentResourceVersion(): string {
    return String(this.rv)
  }

  /** Drop all retained history (like etcd compaction): any resume from an older RV is then 410. */
  compact(): void {
    this.history.length = 0
    this.compactedRv = this.rv
  }
}

export function notFound(key: ResourceKey, name: string): StatusError {
  return new StatusError(404, 'NotFound', `${qualifiedResource(key)} "${name}" not found`, {name, group: key.group || undefined, kind: key.resource})
}

export function expired(from: number, oldest: number): StatusError {
  return new StatusError(410, 'Expired', `too old resource version: ${from} (${oldest})`)
}
