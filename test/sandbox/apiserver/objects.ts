// Per-kind defaulting and validation done on create, and the Table rendering kubectl asks for.
import {randomBytes, randomUUID} from 'node:crypto'
import {StatusError, type KObject} from '../types.js'
import type {ResourceInfo} from './resources.js'

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

export function invalid(r: ResourceInfo, name: string, field: string, value: unknown, detail: string): StatusError {
  const qualified = r.group ? `${r.kind}.${r.group}` : r.kind
  const message = `${qualified} "${name}" is invalid: ${field}: Invalid value: ${JSON.stringify(value)}: ${detail}`
  return new StatusError(422, 'Invalid', message, {name, group: r.group || undefined, kind: r.kind, causes: [{reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(value)}: ${detail}`, field}]})
}

export function validateName(r: ResourceInfo, name: string): void {
  if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    throw invalid(r, name, 'metadata.name', name, "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
  }
}

/** Defaults the real API server (or its admission chain) fills in on create. */
export function applyCreateDefaults(r: ResourceInfo, o: KObject): void {
  const md = o.metadata
  switch (r.resource) {
    case 'namespaces':
      md.labels = {...md.labels, 'kubernetes.io/metadata.name': md.name}
      o.spec ??= {finalizers: ['kubernetes']}
      o.status = {phase: 'Active'}
      break
    case 'pods': {
      const spec = (o.spec ??= {})
      spec.restartPolicy ??= 'Always'
      spec.terminationGracePeriodSeconds ??= 30
      spec.dnsPolicy ??= 'ClusterFirst'
      spec.serviceAccountName ??= 'default'
      spec.serviceAccount ??= spec.serviceAccountName
      spec.schedulerName ??= 'default-scheduler'
      spec.securityContext ??= {}
      spec.enableServiceLinks ??= true
      for (const c of spec.containers ?? []) {
        c.terminationMessagePath ??= '/dev/termination-log'
        c.terminationMessagePolicy ??= 'File'
        c.imagePullPolicy ??= String(c.image ?? '').endsWith(':latest') || !String(c.image ?? '').includes(':') ? 'Always' : 'IfNotPresent'
        c.resources ??= {}
      }
      o.status = {phase: 'Pending', qosClass: 'BestEffort', ...(o.status ?? {})}
      break
    }
    case 'jobs': {
      const spec = (o.spec ??= {})
      spec.backoffLimit ??= 6
      spec.completions ??= 1
      spec.parallelism ??= 1
      spec.completionMode ??= 'NonIndexed'
      spec.suspend ??= false
      const uid = (md.uid ??= randomUUID())
      const labels = {'batch.kubernetes.io/controller-uid': uid, 'batch.kubernetes.io/job-name': md.name, 'controller-uid': uid, 'job-name': md.name}
      spec.selector ??= {matchLabels: {'batch.kubernetes.io/controller-uid': uid}}
      spec.template ??= {}
      spec.template.metadata = {...spec.template.metadata, labels: {...spec.template.metadata?.labels, ...labels}}
      spec.template.spec ??= {}
      spec.template.spec.restartPolicy ??= 'Never'
      o.status ??= {}
      break
    }
    case 'deployments': {
      const spec = (o.spec ??= {})
      spec.replicas ??= 1
      spec.revisionHistoryLimit ??= 10
      spec.progressDeadlineSeconds ??= 600
      spec.strategy ??= {type: 'RollingUpdate', rollingUpdate: {maxSurge: '25%', maxUnavailable: '25%'}}
      o.status ??= {}
      break
    }
    case 'services': {
      const spec = (o.spec ??= {})
      spec.type ??= 'ClusterIP'
      if (spec.clusterIP === undefined && spec.type !== 'ExternalName') {
        const b = randomBytes(2)
        spec.clusterIP = `10.96.${b[0]}.${(b[1] % 253) + 1}`
        spec.clusterIPs = [spec.clusterIP]
      }
      spec.sessionAffinity ??= 'None'
      for (const p of spec.ports ?? []) {
        p.protocol ??= 'TCP'
        p.targetPort ??= p.port
      }
      o.status ??= {loadBalancer: {}}
      break
    }
    case 'secrets':
      o.type ??= 'Opaque'
      if (o.stringData) {
        o.data = {...o.data}
        for (const [k, v] of Object.entries(o.stringData as Record<string, string>)) o.data[k] = Buffer.from(v).toString('base64')
        delete o.stringData
      }
      break
    case 'persistentvolumeclaims':
      o.spec ??= {}
      o.spec.volumeMode ??= 'Filesystem'
      o.status ??= {phase: 'Pending'}
      break
  }
}

const age = (ts: string | undefined, until?: string): string => {
  if (!ts) return '<unknown>'
  const s = Math.max(0, Math.floor(((until ? Date.parse(until) : Date.now()) - Date.parse(ts)) / 1000))
  const m = Math.floor(s / 60)
  const h = Math.floor(m / 60)
  if (s < 120) return `${s}s`
  if (m < 10) return `${m}m${s % 60}s`
  if (h < 3) return `${m}m`
  if (h < 48) return `${h}h`
  return `${Math.floor(h / 24)}d`
}

function podStatus(p: KObject): string {
  if (p.metadata.deletionTimestamp) return 'Terminating'
  let reason: string = p.status?.reason ?? p.status?.phase ?? 'Pending'
  for (const cs of p.status?.containerStatuses ?? []) {
    if (cs.state?.waiting?.reason) reason = cs.state.waiting.reason
    else if (cs.state?.terminated?.reason) reason = cs.state.terminated.reason
  }
  return reason
}

interface Column {
  name: string
  type: string
  format: string
  description: string
  priority: number
}
const col = (name: string, type = 'string', format = '', priority = 0): Column => ({name, type, format, description: name, priority})

function columnsFor(resource: string): {columns: Column[]; cells: (o: KObject) => unknown[]} {
  if (resource === 'pods') {
    return {
      columns: [col('Name', 'string', 'name'), col('Ready'), col('Status'), col('Restarts'), col('Age'), col('IP', 'string', '', 1), col('Node', 'string', '', 1)],
      cells: (p) => {
        const specs = p.spec?.containers?.length ?? 0
        const statuses: any[] = p.status?.containerStatuses ?? []
        const ready = statuses.filter((c) => c.ready).length
        const restarts = statuses.reduce((n, c) => n + (c.restartCount ?? 0), 0)
        return [p.metadata.name, `${ready}/${specs}`, podStatus(p), String(restarts), age(p.metadata.creationTimestamp), p.status?.podIP ?? '<none>', p.spec?.nodeName ?? '<none>']
      },
    }
  }
  if (resource === 'jobs') {
    return {
      columns: [col('Name', 'string', 'name'), col('Status'), col('Completions'), col('Duration'), col('Age')],
      cells: (j) => {
        const conds: any[] = j.status?.conditions ?? []
        const has = (type: string) => conds.some((c) => c.type === type && c.status === 'True')
        // kube-apiserver's job printer: the first terminal condition, Terminating while deleted, else Running
        const st = has('Complete') ? 'Complete' : has('Failed') ? 'Failed' : j.metadata.deletionTimestamp ? 'Terminating' : has('FailureTarget') ? 'FailureTarget' : has('SuccessCriteriaMet') ? 'SuccessCriteriaMet' : 'Running'
        // DURATION stops at completionTime (set only on success), as the real printer does
        const duration = j.status?.startTime ? age(j.status.startTime, j.status.completionTime) : ''
        return [j.metadata.name, st, `${j.status?.succeeded ?? 0}/${j.spec?.completions ?? 1}`, duration, age(j.metadata.creationTimestamp)]
      },
    }
  }
  if (resource === 'events') {
    // kube-apiserver's event printer (pkg/printers/internalversion), kubectl 1.32 shows priority 0
    return {
      columns: [col('Last Seen'), col('Type'), col('Reason'), col('Object'), col('Subobject', 'string', '', 1), col('Source', 'string', '', 1), col('Message'),
        col('First Seen', 'string', '', 1), col('Count', 'string', '', 1), col('Name', 'string', 'name', 1)],
      cells: (e) => {
        const first = e.firstTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp
        const last = e.lastTimestamp ?? e.eventTime ?? first
        const count = e.count ?? 1
        const lastSeen = count > 1 ? `${age(last)} (x${count} over ${age(first)})` : age(last)
        const io = e.involvedObject ?? {}
        const src = e.source?.component ? `${e.source.component}${e.source.host ? `, ${e.source.host}` : ''}` : e.reportingController ?? ''
        return [lastSeen, e.type ?? '', e.reason ?? '', `${String(io.kind ?? '').toLowerCase()}/${io.name ?? ''}`, io.fieldPath ?? '', src, String(e.message ?? '').trim(), age(first), count, e.metadata.name]
      },
    }
  }
  return {columns: [col('Name', 'string', 'name'), col('Age')], cells: (o) => [o.metadata.name, age(o.metadata.creationTimestamp)]}
}

export const wantsTable = (accept: string | undefined): boolean => /as=Table/.test(accept ?? '')

/** What each Table row carries (`?includeObject=`): kubectl asks for Object to sort (--sort-by) or to print -o wide extras. */
export type IncludeObject = 'None' | 'Metadata' | 'Object'

export function includeObjectOf(q: URLSearchParams): IncludeObject {
  const v = q.get('includeObject')
  if (v === null || v === '') return 'Metadata'
  if (v !== 'None' && v !== 'Metadata' && v !== 'Object') throw new StatusError(400, 'BadRequest', `includeObject: Unsupported value: "${v}": supported values: "Metadata", "None", "Object"`)
  return v
}

export function toTable(resource: string, items: KObject[], resourceVersion: string, withHeaders = true, include: IncludeObject = 'Metadata', typed: (o: KObject) => KObject = (o) => o): Record<string, unknown> {
  const {columns, cells} = columnsFor(resource)
  const rowObject = (o: KObject) =>
    include === 'None' ? undefined : include === 'Object' ? typed(o) : {kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata}
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: {resourceVersion},
    ...(withHeaders ? {columnDefinitions: columns} : {}),
    rows: items.map((o) => ({cells: cells(o), object: rowObject(o)})),
  }
}

/** RFC 7386 JSON merge patch (strategic merge patch is treated the same way). */
export function mergePatch(target: any, patch: any): any {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch
  const out = target !== null && typeof target === 'object' && !Array.isArray(target) ? {...target} : {}
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$')) continue // strategic-merge directives ($patch, $retainKeys …)
    if (v === null) delete out[k]
    else out[k] = mergePatch(out[k], v)
  }
  return out
}

/** RFC 6902 JSON patch: add, remove, replace, test. */
export function jsonPatch(target: any, ops: any[]): any {
  const doc = structuredClone(target)
  for (const op of ops) {
    const parts = String(op.path).split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    const last = parts.pop()!
    let parent = doc
    for (const p of parts) {
      if (parent[p] === undefined) throw new StatusError(422, 'Invalid', `the server rejected our request due to an error in our request: path ${op.path} not found`)
      parent = parent[p]
    }
    const key = Array.isArray(parent) ? (last === '-' ? parent.length : Number(last)) : last
    switch (op.op) {
      case 'add':
        if (Array.isArray(parent)) parent.splice(key as number, 0, op.value)
        else parent[key] = op.value
        break
      case 'replace':
        parent[key] = op.value
        break
      case 'remove':
        if (Array.isArray(parent)) parent.splice(key as number, 1)
        else delete parent[key]
        break
      case 'test':
        if (JSON.stringify(parent[key]) !== JSON.stringify(op.value)) throw new StatusError(422, 'Invalid', `the server rejected our request due to an error in our request: testing value ${op.path} failed`)
        break
      default:
        throw new StatusError(422, 'Invalid', `the server rejected our request due to an error in our request: unsupported operation ${op.op}`)
    }
  }
  return doc
}
