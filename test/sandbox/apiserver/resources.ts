// The resource table: what discovery advertises and what the router serves.
import type {ResourceKey} from '../types.js'

export interface ResourceInfo extends ResourceKey {
  kind: string
  namespaced: boolean
  shortNames?: string[]
  verbs: string[]
  /** subresource name → kind and verbs */
  subresources?: Record<string, {kind: string; verbs: string[]}>
  singularName: string
  categories?: string[]
}

const CRUD = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']
const STATUS = {kind: '', verbs: ['get', 'patch', 'update']}

export const RESOURCES: ResourceInfo[] = [
  {group: '', version: 'v1', resource: 'namespaces', singularName: 'namespace', kind: 'Namespace', namespaced: false, shortNames: ['ns'], verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], subresources: {status: STATUS}},
  {group: '', version: 'v1', resource: 'pods', singularName: 'pod', kind: 'Pod', namespaced: true, shortNames: ['po'], verbs: CRUD, categories: ['all'],
    subresources: {status: STATUS, log: {kind: 'Pod', verbs: ['get']}, exec: {kind: 'PodExecOptions', verbs: ['create', 'get']}, portforward: {kind: 'PodPortForwardOptions', verbs: ['create', 'get']}}},
  {group: '', version: 'v1', resource: 'services', singularName: 'service', kind: 'Service', namespaced: true, shortNames: ['svc'], verbs: CRUD, categories: ['all'], subresources: {status: STATUS}},
  {group: '', version: 'v1', resource: 'endpoints', singularName: 'endpoints', kind: 'Endpoints', namespaced: true, shortNames: ['ep'], verbs: CRUD},
  {group: '', version: 'v1', resource: 'configmaps', singularName: 'configmap', kind: 'ConfigMap', namespaced: true, shortNames: ['cm'], verbs: CRUD},
  {group: '', version: 'v1', resource: 'secrets', singularName: 'secret', kind: 'Secret', namespaced: true, verbs: CRUD},
  {group: '', version: 'v1', resource: 'persistentvolumeclaims', singularName: 'persistentvolumeclaim', kind: 'PersistentVolumeClaim', namespaced: true, shortNames: ['pvc'], verbs: CRUD, subresources: {status: STATUS}},
  {group: '', version: 'v1', resource: 'serviceaccounts', singularName: 'serviceaccount', kind: 'ServiceAccount', namespaced: true, shortNames: ['sa'], verbs: CRUD, subresources: {token: {kind: 'TokenRequest', verbs: ['create']}}},
  {group: '', version: 'v1', resource: 'events', singularName: 'event', kind: 'Event', namespaced: true, shortNames: ['ev'], verbs: CRUD},
  {group: 'apps', version: 'v1', resource: 'deployments', singularName: 'deployment', kind: 'Deployment', namespaced: true, shortNames: ['deploy'], verbs: CRUD, categories: ['all'], subresources: {status: STATUS}},
  {group: 'batch', version: 'v1', resource: 'jobs', singularName: 'job', kind: 'Job', namespaced: true, verbs: CRUD, categories: ['all'], subresources: {status: STATUS}},
  {group: 'authorization.k8s.io', version: 'v1', resource: 'selfsubjectaccessreviews', singularName: 'selfsubjectaccessreview', kind: 'SelfSubjectAccessReview', namespaced: false, verbs: ['create']},
  {group: 'authentication.k8s.io', version: 'v1', resource: 'tokenreviews', singularName: 'tokenreview', kind: 'TokenReview', namespaced: false, verbs: ['create']},
]

export const GROUPS: {group: string; version: string}[] = [
  {group: 'apps', version: 'v1'},
  {group: 'batch', version: 'v1'},
  {group: 'authorization.k8s.io', version: 'v1'},
  {group: 'authentication.k8s.io', version: 'v1'},
]

export function findResource(group: string, version: string, resource: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.resource === resource)
}

export const apiVersionOf = (r: ResourceKey): string => (r.group ? `${r.group}/${r.version}` : r.version)

/** APIResourceList as /api/v1 and /apis/{g}/{v} serve it. */
export function apiResourceList(group: string, version: string): Record<string, unknown> | undefined {
  const rs = RESOURCES.filter((r) => r.group === group && r.version === version)
  if (rs.length === 0) return undefined
  const resources: Record<string, unknown>[] = []
  for (const r of rs) {
    resources.push({name: r.resource, singularName: r.singularName, namespaced: r.namespaced, kind: r.kind, verbs: r.verbs,
      ...(r.shortNames ? {shortNames: r.shortNames} : {}), ...(r.categories ? {categories: r.categories} : {})})
    for (const [sub, s] of Object.entries(r.subresources ?? {})) {
      resources.push({name: `${r.resource}/${sub}`, singularName: '', namespaced: r.namespaced, kind: s.kind || r.kind,
        ...(s.kind === 'TokenRequest' ? {group: 'authentication.k8s.io', version: 'v1'} : {}), verbs: s.verbs})
    }
  }
  return {kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources}
}

export function apiGroupList(): Record<string, unknown> {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: GROUPS.map((g) => ({name: g.group, versions: [{groupVersion: `${g.group}/${g.version}`, version: g.version}],
      preferredVersion: {groupVersion: `${g.group}/${g.version}`, version: g.version}})),
  }
}
