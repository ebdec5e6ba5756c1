// What kube-apiserver's per-kind validation (pkg/apis/*/validation) refuses, for the kinds the
// sandbox serves: object metadata, names, pod specs (containers, volumes, resources, ports, env),
// ConfigMap/Secret keys and sizes, PVCs, Services, Jobs and Deployments. Returns field errors;
// the caller turns them into one 422 Invalid Status.
import {isDeepStrictEqual} from 'node:util'
import type {KObject} from '../../types.js'
import {
  duplicate, forbidden, inRange, invalid, isConfigMapKey, isDns1035Label, isDns1123Label, isDns1123Subdomain, isEnvVarName, isLabelValue,
  isQualifiedName, notFound, notSupported, required, tooLong, type FieldError,
} from './field.js'
import {parseQuantity, quantityString} from './quantity.js'

export type NameRule = 'subdomain' | 'label' | 'dns1035'

/** How each resource's metadata.name is checked (ValidateXName in pkg/apis/core/validation). */
export const NAME_RULES: Record<string, NameRule> = {namespaces: 'label', services: 'dns1035'}

export function nameErrors(rule: NameRule, name: string, prefix = false): string[] {
  // generateName may end in '-': the random suffix follows it (maskTrailingDash)
  const v = prefix && name.length > 1 && name.endsWith('-') ? name.slice(0, -1) : name
  return rule === 'label' ? isDns1123Label(v) : rule === 'dns1035' ? isDns1035Label(v) : isDns1123Subdomain(v)
}

export const TOTAL_ANNOTATION_SIZE = 256 * 1024
const MAX_CONFIG_SIZE = 1024 * 1024
const STANDARD_FINALIZERS = new Set(['kubernetes', 'orphan', 'foregroundDeletion'])

export function validateLabels(labels: unknown, field: string): FieldError[] {
  const errs: FieldError[] = []
  for (const [k, v] of Object.entries((labels as Record<string, unknown>) ?? {})) {
    for (const m of isQualifiedName(k)) errs.push(invalid(field, k, m))
    for (const m of isLabelValue(String(v))) errs.push(invalid(field, v, m))
  }
  return errs
}

export function validateAnnotations(ann: unknown, field: string): FieldError[] {
  const errs: FieldError[] = []
  let size = 0
  for (const [k, v] of Object.entries((ann as Record<string, unknown>) ?? {})) {
    for (const m of isQualifiedName(k.toLowerCase())) errs.push(invalid(field, k, m))
    size += Buffer.byteLength(k) + Buffer.byteLength(String(v))
  }
  if (size > TOTAL_ANNOTATION_SIZE) errs.push(tooLong(field, TOTAL_ANNOTATION_SIZE))
  return errs
}

/** ObjectMeta on create and update (ValidateObjectMetaAccessor). */
export function validateObjectMeta(md: Record<string, any>, resource: string, namespaced: boolean): FieldError[] {
  const errs: FieldError[] = []
  const rule = NAME_RULES[resource] ?? 'subdomain'
  if (md.generateName) for (const m of nameErrors(rule, md.generateName, true)) errs.push(invalid('metadata.generateName', md.generateName, m))
  if (!md.name) errs.push(required('metadata.name', 'name or generateName is required'))
  else for (const m of nameErrors(rule, md.name)) errs.push(invalid('metadata.name', md.name, m))
  if (namespaced) {
    if (!md.namespace) errs.push(required('metadata.namespace'))
    else for (const m of isDns1123Label(md.namespace)) errs.push(invalid('metadata.namespace', md.namespace, m))
  } else if (md.namespace) errs.push(forbidden('metadata.namespace', 'not allowed on this type'))
  if (typeof md.generation === 'number' && md.generation < 0) errs.push(invalid('metadata.generation', md.generation, 'must be greater than or equal to 0'))
  errs.push(...validateLabels(md.labels, 'metadata.labels'))
  errs.push(...validateAnnotations(md.annotations, 'metadata.annotations'))
  const owners: any[] = md.ownerReferences ?? []
  owners.forEach((r, i) => {
    const f = `metadata.ownerReferences[${i}]`
    if (!r.apiVersion) errs.push(required(`${f}.apiVersion`, 'must not be empty'))
    else if (!/^([^/]+\/)?[^/]+$/.test(r.apiVersion)) errs.push(invalid(`${f}.apiVersion`, r.apiVersion, 'must be <group>/<version> or <version>'))
    if (!r.kind) errs.push(required(`${f}.kind`, 'must not be empty'))
    if (!r.name) errs.push(required(`${f}.name`, 'must not be empty'))
    if (!r.uid) errs.push(required(`${f}.uid`, 'must not be empty'))
  })
  const controllers = owners.filter((r) => r.controller === true)
  if (controllers.length > 1) {
    errs.push(invalid('metadata.ownerReferences', owners, `Only one reference can have Controller set to true. Found "true" in references for ${controllers.map((r) => `${r.kind}/${r.name}`).join(' and ')}`))
  }
  for (const f of (md.finalizers as string[] | undefined) ?? []) {
    const msgs = isQualifiedName(f)
    for (const m of msgs) errs.push(invalid('metadata.finalizers', f, m))
    if (!msgs.length && !STANDARD_FINALIZERS.has(f) && !f.includes('/')) errs.push(invalid('metadata.finalizers', f, 'name is neither a standard finalizer name nor is it fully qualified'))
  }
  return errs
}

// --- resources and quantities ------------------------------------------------------------

const STANDARD_CONTAINER_RESOURCES = new Set(['cpu', 'memory', 'ephemeral-storage'])

function validateResourceList(list: Record<string, unknown> | undefined, field: string, errs: FieldError[]): Map<string, number> {
  const values = new Map<string, number>()
  for (const [name, q] of Object.entries(list ?? {})) {
    const f = `${field}[${name}]`
    const standard = STANDARD_CONTAINER_RESOURCES.has(name) || name.startsWith('hugepages-')
    if (!standard) {
      const msgs = isQualifiedName(name)
      for (const m of msgs) errs.push(invalid(f, name, m))
      if (!msgs.length && !name.includes('/')) errs.push(invalid(f, name, 'must be a standard resource for containers'))
    }
    const p = parseQuantity(q)
    if ('error' in p) continue // a decode error, reported by the schema check
    if (p.value < 0) errs.push(invalid(f, quantityString(q), 'must be greater than or equal to 0'))
    if (name === 'memory' && p.value !== Math.floor(p.value)) errs.push(invalid(f, quantityString(q), 'must be an integer'))
    values.set(name, p.value)
  }
  return values
}

function validateResources(res: any, field: string): FieldError[] {
  const errs: FieldError[] = []
  if (!res) return errs
  const limits = validateResourceList(res.limits, `${field}.limits`, errs)
  const requests = validateResourceList(res.requests, `${field}.requests`, errs)
  for (const [name, req] of requests) {
    const lim = limits.get(name)
    if (lim !== undefined && req > lim) {
      errs.push(invalid(`${field}.requests`, quantityString(res.requests[name]), `must be less than or equal to ${name} limit of ${quantityString(res.limits[name])}`))
    }
  }
  return errs
}

// --- pod spec --------------------------------------------------------------------------------

const VOLUME_SOURCES = ['hostPath', 'emptyDir', 'gcePersistentDisk', 'awsElasticBlockStore', 'gitRepo', 'secret', 'nfs', 'iscsi', 'glusterfs', 'persistentVolumeClaim',
  'rbd', 'flexVolume', 'cinder', 'cephfs', 'flocker', 'downwardAPI', 'fc', 'azureFile', 'configMap', 'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk',
  'projected', 'portworxVolume', 'scaleIO', 'storageos', 'csi', 'ephemeral', 'image']

function validateVolumes(volumes: any[], field: string): {errs: FieldError[]; names: Set<string>} {
  const errs: FieldError[] = []
  const names = new Set<string>()
  volumes.forEach((v, i) => {
    const f = `${field}[${i}]`
    if (!v.name) errs.push(required(`${f}.name`))
    else {
      for (const m of isDns1123Label(v.name)) errs.push(invalid(`${f}.name`, v.name, m))
      if (names.has(v.name)) errs.push(duplicate(`${f}.name`, v.name))
      names.add(v.name)
    }
    const sources = VOLUME_SOURCES.filter((s) => v[s] !== undefined && v[s] !== null)
    if (sources.length === 0) errs.push(required(f, 'must specify a volume type'))
    else if (sources.length > 1) errs.push(forbidden(`${f}.${sources[1]}`, `may not specify more than 1 volume type`))
    if (v.persistentVolumeClaim && !v.persistentVolumeClaim.claimName) errs.push(required(`${f}.persistentVolumeClaim.claimName`))
    if (v.hostPath && !v.hostPath.path) errs.push(required(`${f}.hostPath.path`))
    if (v.configMap && !v.configMap.name) errs.push(required(`${f}.configMap.name`))
    if (v.secret && !v.secret.secretName) errs.push(required(`${f}.secret.secretName`))
  })
  return {errs, names}
}

function validateSecurityContext(sc: any, field: string): FieldError[] {
  const errs: FieldError[] = []
  if (!sc) return errs
  for (const k of ['runAsUser', 'runAsGroup', 'fsGroup']) {
    if (typeof sc[k] === 'number' && (sc[k] < 0 || sc[k] > 2147483647)) errs.push(invalid(`${field}.${k}`, sc[k], inRange(0, 2147483647)))
  }
  if (sc.privileged === true && sc.allowPrivilegeEscalation === false) {
    errs.push(invalid(field, sc, 'cannot set `allowPrivilegeEscalation` to false and `privileged` to true'))
  }
  if (sc.seccompProfile?.type === 'Localhost' && !sc.seccompProfile.localhostProfile) errs.push(required(`${field}.seccompProfile.localhostProfile`, 'must be set when seccomp type is Localhost'))
  return errs
}

function validateContainers(containers: any[], field: string, volumes: Set<string>, seen: Set<string>): FieldError[] {
  const errs: FieldError[] = []
  containers.forEach((c, i) => {
    const f = `${field}[${i}]`
    if (!c.name) errs.push(required(`${f}.name`))
    else {
      for (const m of isDns1123Label(c.name)) errs.push(invalid(`${f}.name`, c.name, m))
      if (seen.has(c.name)) errs.push(duplicate(`${f}.name`, c.name))
      seen.add(c.name)
    }
    if (!c.image) errs.push(required(`${f}.image`))
    else if (c.image !== String(c.image).trim()) errs.push(invalid(`${f}.image`, c.image, 'must not have leading or trailing whitespace'))
    const portNames = new Set<string>()
    ;(c.ports ?? []).forEach((p: any, j: number) => {
      const pf = `${f}.ports[${j}]`
      if (typeof p.containerPort === 'number' && (p.containerPort < 1 || p.containerPort > 65535)) errs.push(invalid(`${pf}.containerPort`, p.containerPort, inRange(1, 65535)))
      if (typeof p.hostPort === 'number' && p.hostPort !== 0 && (p.hostPort < 1 || p.hostPort > 65535)) errs.push(invalid(`${pf}.hostPort`, p.hostPort, inRange(1, 65535)))
      if (p.name) {
        if (p.name.length > 15 || !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(p.name) || !/[a-z]/.test(p.name) || p.name.includes('--')) {
          errs.push(invalid(`${pf}.name`, p.name, 'must be no more than 15 characters, contain only lowercase alphanumeric characters or \'-\', contain at least one letter, and not start or end with \'-\' or contain \'--\''))
        }
        if (portNames.has(p.name)) errs.push(duplicate(`${pf}.name`, p.name))
        portNames.add(p.name)
      }
    })
    ;(c.env ?? []).forEach((e: any, j: number) => {
      const ef = `${f}.env[${j}]`
      if (!e.name) errs.push(required(`${ef}.name`))
      else for (const m of isEnvVarName(e.name)) errs.push(invalid(`${ef}.name`, e.name, m))
      if (e.value !== undefined && e.value !== null && e.valueFrom) errs.push(invalid(`${ef}.valueFrom`, '', 'may not be specified when `value` is not empty'))
    })
    const mountPaths = new Set<string>()
    ;(c.volumeMounts ?? []).forEach((m: any, j: number) => {
      const mf = `${f}.volumeMounts[${j}]`
      if (!m.name) errs.push(required(`${mf}.name`))
      else if (!volumes.has(m.name)) errs.push(notFound(`${mf}.name`, m.name))
      if (!m.mountPath) errs.push(required(`${mf}.mountPath`))
      else {
        if (mountPaths.has(m.mountPath)) errs.push(invalid(`${mf}.mountPath`, m.mountPath, 'must be unique'))
        mountPaths.add(m.mountPath)
      }
      if (m.subPath && (String(m.subPath).startsWith('/') || String(m.subPath).split('/').includes('..'))) errs.push(invalid(`${mf}.subPath`, m.subPath, "must be a relative path without '..'"))
    })
    errs.push(...validateResources(c.resources, `${f}.resources`))
    errs.push(...validateSecurityContext(c.securityContext, `${f}.securityContext`))
  })
  return errs
}

/** PodSpec rules; `restartPolicies` narrows spec.restartPolicy (a Job's pods may not restart Always). */
export function validatePodSpec(spec: any, field: string, restartPolicies?: readonly string[]): FieldError[] {
  if (!spec || typeof spec !== 'object') return [required(field)]
  const {errs, names} = validateVolumes(spec.volumes ?? [], `${field}.volumes`)
  const seen = new Set<string>()
  if (!Array.isArray(spec.containers) || spec.containers.length === 0) errs.push(required(`${field}.containers`))
  else errs.push(...validateContainers(spec.containers, `${field}.containers`, names, seen))
  errs.push(...validateContainers(spec.initContainers ?? [], `${field}.initContainers`, names, seen))
  if (restartPolicies && spec.restartPolicy !== undefined && !restartPolicies.includes(spec.restartPolicy)) {
    errs.push(notSupported(`${field}.restartPolicy`, spec.restartPolicy, restartPolicies))
  }
  if (spec.activeDeadlineSeconds !== undefined && spec.activeDeadlineSeconds !== null && (spec.activeDeadlineSeconds < 1 || spec.activeDeadlineSeconds > 2147483647)) {
    errs.push(invalid(`${field}.activeDeadlineSeconds`, spec.activeDeadlineSeconds, inRange(1, 2147483647)))
  }
  if (spec.serviceAccountName) for (const m of isDns1123Subdomain(spec.serviceAccountName)) errs.push(invalid(`${field}.serviceAccountName`, spec.serviceAccountName, m))
  errs.push(...validateLabels(spec.nodeSelector, `${field}.nodeSelector`))
  errs.push(...validateSecurityContext(spec.securityContext, `${field}.securityContext`))
  return errs
}

// --- kinds --------------------------------------------------------------------------------

function configData(o: KObject, errs: FieldError[], binaryKeys: string[] = []): void {
  let size = 0
  const keys = new Set<string>()
  for (const [field, map] of [['data', o.data], ['binaryData', o.binaryData], ['stringData', o.stringData]] as const) {
    for (const [k, v] of Object.entries((map as Record<string, unknown>) ?? {})) {
      for (const m of isConfigMapKey(k)) errs.push(invalid(`${field}[${k}]`, k, m))
      if (field === 'binaryData' && keys.has(k)) errs.push(invalid(`${field}[${k}]`, k, 'duplicate of key present in data'))
      keys.add(k)
      size += k.length + (binaryKeys.includes(field) ? Buffer.from(String(v), 'base64').length : Buffer.byteLength(String(v)))
    }
  }
  if (size > MAX_CONFIG_SIZE) errs.push(tooLong(o.kind === 'Secret' ? 'data' : '', MAX_CONFIG_SIZE))
}

const ACCESS_MODES = ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod']

function selectorMatches(sel: any, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(sel?.matchLabels ?? {})) if (labels[k] !== v) return false
  for (const e of sel?.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key)
    if (e.operator === 'In' && !(has && e.values?.includes(labels[e.key]))) return false
    if (e.operator === 'NotIn' && has && e.values?.includes(labels[e.key])) return false
    if (e.operator === 'Exists' && !has) return false
    if (e.operator === 'DoesNotExist' && has) return false
  }
  return true
}

function nonNegative(o: any, keys: string[], field: string, errs: FieldError[]): void {
  for (const k of keys) if (typeof o?.[k] === 'number' && o[k] < 0) errs.push(invalid(`${field}.${k}`, o[k], 'must be greater than or equal to 0'))
}

/** Per-kind spec rules (the object's metadata is checked by validateObjectMeta). */
export function validateKind(resource: string, o: KObject): FieldError[] {
  const errs: FieldError[] = []
  switch (resource) {
    case 'pods':
      errs.push(...validatePodSpec(o.spec, 'spec'))
      break
    case 'configmaps':
      configData(o, errs, ['binaryData'])
      break
    case 'secrets':
      configData(o, errs, ['data'])
      if (o.type === 'kubernetes.io/service-account-token' && !o.metadata?.annotations?.['kubernetes.io/service-account.name']) {
        errs.push(required('metadata.annotations[kubernetes.io/service-account.name]'))
      }
      break
    case 'persistentvolumeclaims': {
      const spec = o.spec ?? {}
      const modes: string[] = spec.accessModes ?? []
      if (modes.length === 0) errs.push(required('spec.accessModes', 'at least 1 access mode is required'))
      for (const m of modes) if (!ACCESS_MODES.includes(m)) errs.push(notSupported('spec.accessModes', m, ACCESS_MODES))
      if (!spec.volumeName && spec.resources?.requests?.storage === undefined) errs.push(required('spec.resources[storage]'))
      else if (spec.resources?.requests?.storage !== undefined) {
        const p = parseQuantity(spec.resources.requests.storage)
        if ('value' in p && p.value <= 0) errs.push(invalid('spec.resources[storage]', quantityString(spec.resources.requests.storage), 'must be greater than zero'))
      }
      break
    }
    case 'services': {
      const spec = o.spec ?? {}
      const ports: any[] = spec.ports ?? []
      if (ports.length === 0 && spec.type !== 'ExternalName' && spec.clusterIP !== 'None') errs.push(required('spec.ports'))
      const names = new Set<string>()
      ports.forEach((p, i) => {
        if (ports.length > 1 && !p.name) errs.push(required(`spec.ports[${i}].name`))
        if (p.name) {
          for (const m of isDns1123Label(p.name)) errs.push(invalid(`spec.ports[${i}].name`, p.name, m))
          if (names.has(p.name)) errs.push(duplicate(`spec.ports[${i}].name`, p.name))
          names.add(p.name)
        }
        if (typeof p.port === 'number' && (p.port < 1 || p.port > 65535)) errs.push(invalid(`spec.ports[${i}].port`, p.port, inRange(1, 65535)))
      })
      errs.push(...validateLabels(spec.selector, 'spec.selector'))
      break
    }
    case 'jobs': {
      const spec = o.spec ?? {}
      nonNegative(spec, ['parallelism', 'completions', 'backoffLimit', 'ttlSecondsAfterFinished'], 'spec', errs)
      if (typeof spec.activeDeadlineSeconds === 'number' && spec.activeDeadlineSeconds <= 0) errs.push(invalid('spec.activeDeadlineSeconds', spec.activeDeadlineSeconds, 'must be greater than 0'))
      const tmpl = spec.template ?? {}
      errs.push(...validateLabels(tmpl.metadata?.labels, 'spec.template.metadata.labels'))
      errs.push(...validateAnnotations(tmpl.metadata?.annotations, 'spec.template.metadata.annotations'))
      if (!spec.selector) errs.push(required('spec.selector'))
      else if (!selectorMatches(spec.selector, tmpl.metadata?.labels ?? {})) {
        errs.push(invalid('spec.template.metadata.labels', tmpl.metadata?.labels ?? {}, '`selector` does not match template `labels`'))
      }
      errs.push(...validatePodSpec(tmpl.spec, 'spec.template.spec', ['OnFailure', 'Never']))
      break
    }
    case 'deployments': {
      const spec = o.spec ?? {}
      nonNegative(spec, ['replicas', 'minReadySeconds', 'revisionHistoryLimit'], 'spec', errs)
      const tmpl = spec.template ?? {}
      errs.push(...validateLabels(tmpl.metadata?.labels, 'spec.template.metadata.labels'))
      if (!spec.selector) errs.push(required('spec.selector'))
      else if (Object.keys(spec.selector.matchLabels ?? {}).length + (spec.selector.matchExpressions ?? []).length === 0) errs.push(invalid('spec.selector', spec.selector, 'empty selector is invalid for deployment'))
      else if (!selectorMatches(spec.selector, tmpl.metadata?.labels ?? {})) {
        errs.push(invalid('spec.template.metadata.labels', tmpl.metadata?.labels ?? {}, '`selector` does not match template `labels`'))
      }
      errs.push(...validatePodSpec(tmpl.spec, 'spec.template.spec', ['Always']))
      break
    }
  }
  return errs
}

const POD_MUTABLE = 'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)'

/** Update-only rules: immutable fields (ValidatePodUpdate, ValidateJobUpdate, ValidateObjectMetaUpdate). */
export function validateUpdate(resource: string, next: KObject, old: KObject): FieldError[] {
  const errs: FieldError[] = []
  if (typeof next.metadata?.generation === 'number' && next.metadata.generation < (old.metadata?.generation ?? 0)) {
    errs.push(invalid('metadata.generation', next.metadata.generation, 'must not be decremented'))
  }
  if (resource === 'pods') {
    const strip = (spec: any) => {
      const s = structuredClone(spec ?? {})
      for (const c of [...(s.containers ?? []), ...(s.initContainers ?? [])]) delete c.image
      delete s.activeDeadlineSeconds
      delete s.tolerations
      delete s.terminationGracePeriodSeconds
      return s
    }
    if (!isDeepStrictEqual(strip(next.spec), strip(old.spec))) errs.push(forbidden('spec', POD_MUTABLE))
  }
  if (resource === 'jobs') {
    for (const k of ['selector', 'template', 'completions', 'completionMode']) {
      if (!isDeepStrictEqual(next.spec?.[k], old.spec?.[k])) errs.push(invalid(`spec.${k}`, next.spec?.[k] ?? null, 'field is immutable'))
    }
  }
  if (resource === 'persistentvolumeclaims' && !isDeepStrictEqual({...next.spec, resources: undefined}, {...old.spec, resources: undefined})) {
    errs.push(forbidden('spec', 'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims'))
  }
  if (resource === 'secrets' || resource === 'configmaps') {
    if (old.immutable === true && (!isDeepStrictEqual(next.data, old.data) || !isDeepStrictEqual(next.binaryData, old.binaryData))) errs.push(forbidden('data', 'field is immutable when `immutable` is set'))
    if (resource === 'secrets' && next.type !== old.type) errs.push(invalid('type', next.type, 'field is immutable'))
  }
  return errs
}
