// Field types, enums and required fields of each kind, from the official Kubernetes OpenAPI schemas
// as the npm package kubernetes-models compiles them (4.5.x: the Kubernetes 1.33 schemas, the
// closest published superset of the 1.32 API the sandbox claims). What the real API server does
// with each kind of schema violation:
//   wrong JSON type / malformed quantity → 400 BadRequest while decoding ("cannot be handled as a Pod");
//   value outside an enum → 422 Unsupported value; missing required field → 422 Required value.
import {ConfigMap} from 'kubernetes-models/v1/ConfigMap'
import {Endpoints} from 'kubernetes-models/v1/Endpoints'
import {Event} from 'kubernetes-models/v1/Event'
import {Namespace} from 'kubernetes-models/v1/Namespace'
import {PersistentVolumeClaim} from 'kubernetes-models/v1/PersistentVolumeClaim'
import {Pod} from 'kubernetes-models/v1/Pod'
import {Secret} from 'kubernetes-models/v1/Secret'
import {Service} from 'kubernetes-models/v1/Service'
import {ServiceAccount} from 'kubernetes-models/v1/ServiceAccount'
import {Deployment} from 'kubernetes-models/apps/v1/Deployment'
import {Job} from 'kubernetes-models/batch/v1/Job'
import {SelfSubjectAccessReview} from 'kubernetes-models/authorization.k8s.io/v1/SelfSubjectAccessReview'
import {TokenRequest} from 'kubernetes-models/authentication.k8s.io/v1/TokenRequest'
import {TokenReview} from 'kubernetes-models/authentication.k8s.io/v1/TokenReview'
import {notSupported, required, type FieldError} from './field.js'
import {parseQuantity, QUANTITY_FORMAT_ERROR} from './quantity.js'

interface ModelClass {
  new (data: any): {validate(): void}
}

const MODELS: Record<string, ModelClass> = {
  Pod, Service, Endpoints, ConfigMap, Secret, PersistentVolumeClaim, ServiceAccount, Event, Namespace,
  Deployment, Job, SelfSubjectAccessReview, TokenRequest, TokenReview,
}

interface AjvError {
  instancePath: string
  keyword: string
  params: Record<string, any>
}

/** Map-valued fields: their keys print as `[key]` in field paths, as the Go field.Path does. */
const MAP_FIELDS = new Set(['labels', 'annotations', 'data', 'binaryData', 'stringData', 'limits', 'requests', 'nodeSelector', 'matchLabels', 'capacity', 'selector', 'extra'])

function pathSegments(instancePath: string): string[] {
  return instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
}

/** `/spec/containers/0/name` → `spec.containers[0].name`. */
export function fieldPath(segs: string[]): string {
  let out = ''
  segs.forEach((s, i) => {
    if (/^\d+$/.test(s) || (i > 0 && MAP_FIELDS.has(segs[i - 1]) && segs[i - 1] !== 'selector')) out += `[${s}]`
    else out += out ? `.${s}` : s
  })
  return out
}

const STRUCTS: Record<string, string> = {
  metadata: 'ObjectMeta', containers: 'Container', initContainers: 'Container', ephemeralContainers: 'EphemeralContainer', resources: 'ResourceRequirements',
  env: 'EnvVar', volumeMounts: 'VolumeMount', volumes: 'Volume', template: 'PodTemplateSpec', persistentVolumeClaim: 'PersistentVolumeClaimVolumeSource',
  emptyDir: 'EmptyDirVolumeSource', seccompProfile: 'SeccompProfile', capabilities: 'Capabilities', ownerReferences: 'OwnerReference',
  resourceAttributes: 'ResourceAttributes', nonResourceAttributes: 'NonResourceAttributes', boundObjectRef: 'BoundObjectReference', involvedObject: 'ObjectReference',
}

/** "Go struct field PodSpec.spec.terminationGracePeriodSeconds": the innermost struct, then the dotted JSON path without indexes or map keys. */
function goStructField(kind: string, segs: string[]): string {
  const kept = segs.filter((s, i) => !/^\d+$/.test(s) && !(i > 0 && MAP_FIELDS.has(segs[i - 1])))
  const owner = kept.at(-2)
  let struct = kind
  if (owner === 'spec') struct = kept.includes('template') ? 'PodSpec' : `${kind}Spec`
  else if (owner === 'status') struct = `${kind}Status`
  else if (owner === 'securityContext') struct = kept.some((s) => s.endsWith('ontainers')) ? 'SecurityContext' : 'PodSecurityContext'
  else if (owner === 'ports') struct = kind === 'Service' ? 'ServicePort' : 'ContainerPort'
  else if (owner) struct = STRUCTS[owner] ?? owner[0].toUpperCase() + owner.slice(1)
  return `${struct}.${kept.join('.')}`
}

const valueAt = (obj: any, segs: string[]): unknown => segs.reduce((o, s) => (o === null || o === undefined ? undefined : o[s]), obj)

const jsonType = (v: unknown): string => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v === 'object' ? 'object' : typeof v === 'boolean' ? 'bool' : typeof v)

/** ajv checks an integer's format only on numbers: ask again with 2^40 in the field to learn int32 vs int64. */
function integerFormat(Model: ModelClass, obj: unknown, segs: string[]): string {
  const probe = structuredClone(obj) as any
  let o = probe
  for (const s of segs.slice(0, -1)) o = o[s]
  o[segs.at(-1)!] = 2 ** 40
  try {
    new Model(probe).validate()
  } catch (e) {
    const p = '/' + segs.map((s) => s.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')
    if (((e as any).errors ?? []).some((x: AjvError) => x.instancePath === p && x.keyword === 'format' && x.params.format === 'int32')) return 'int32'
  }
  return 'int64'
}

function goType(e: AjvError, intFormat: () => string): string {
  switch (e.params.type) {
    case 'integer':
      return intFormat()
    case 'boolean':
      return 'bool'
    case 'number':
      return 'float64'
    case 'array':
      return '[]interface {}'
    case 'object':
      return 'map[string]interface {}'
    default:
      return 'string'
  }
}

export interface SchemaResult {
  /** The decode failure (400), if any: only the first, as Go's decoder stops there. */
  decodeError?: string
  errors: FieldError[]
}

/** Validate a whole object of `kind` against its OpenAPI schema. Unknown kinds pass. */
export function checkSchema(kind: string, obj: unknown): SchemaResult {
  const Model = MODELS[kind]
  if (!Model) return {errors: []}
  let ajvErrors: AjvError[]
  try {
    new Model(obj).validate()
    return {errors: []}
  } catch (e) {
    ajvErrors = ((e as any).errors ?? []) as AjvError[]
  }
  const errors: FieldError[] = []
  const seen = new Set<string>()
  let decodeError: string | undefined
  // int-or-string and Quantity are `oneOf`: report the quantity problem itself, or the type.
  const oneOfPaths = new Set(ajvErrors.filter((e) => e.keyword === 'oneOf').map((e) => e.instancePath))
  for (const e of ajvErrors) {
    const segs = pathSegments(e.instancePath)
    if (oneOfPaths.has(e.instancePath)) {
      if (e.keyword !== 'oneOf' || decodeError) continue
      const v = valueAt(obj, segs)
      const q = typeof v === 'string' ? parseQuantity(v) : {error: QUANTITY_FORMAT_ERROR}
      if ('error' in q) decodeError = q.error
      continue
    }
    if (e.keyword === 'type' || e.keyword === 'format') {
      if (decodeError || seen.has(e.instancePath)) continue
      seen.add(e.instancePath)
      const v = valueAt(obj, segs)
      if (e.keyword === 'format' && typeof v === 'number') {
        decodeError = `json: cannot unmarshal number ${v} into Go struct field ${goStructField(kind, segs)} of type ${e.params.format}`
      } else if (e.keyword === 'type') {
        decodeError = `json: cannot unmarshal ${jsonType(v)} into Go struct field ${goStructField(kind, segs)} of type ${goType(e, () => integerFormat(Model, obj, segs))}`
      }
      continue
    }
    if (e.keyword === 'enum') errors.push(notSupported(fieldPath(segs), valueAt(obj, segs), e.params.allowedValues))
    else if (e.keyword === 'required') errors.push(required(fieldPath([...segs, e.params.missingProperty])))
  }
  return {decodeError, errors}
}
