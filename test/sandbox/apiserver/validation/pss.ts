// Pod Security admission (k8s.io/pod-security-admission), enforce mode: a namespace labelled
// `pod-security.kubernetes.io/enforce=baseline|restricted` refuses pods that violate the level with
// 403 `pods "x" is forbidden: violates PodSecurity "restricted:latest": <reason> (<detail>), …`.
// The checks and their wording follow policy/check_*.go, in the registry's order (baseline first).
import {StatusError, type KObject} from '../../types.js'

export type Level = 'privileged' | 'baseline' | 'restricted'

interface Result {
  reason: string
  detail: string
}

const plural = (one: string, many: string, n: number) => (n === 1 ? one : many)
const joinQuote = (xs: string[]) => (xs.length ? `"${xs.join('", "')}"` : '')
const containersOf = (spec: any): any[] => [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])]

function hostNamespaces(spec: any): Result | undefined {
  const on = [['hostNetwork', spec.hostNetwork], ['hostPID', spec.hostPID], ['hostIPC', spec.hostIPC]].filter(([, v]) => v === true).map(([k]) => `${k}=true`)
  return on.length ? {reason: 'host namespaces', detail: on.join(', ')} : undefined
}

function hostPorts(spec: any): Result | undefined {
  const bad: string[] = []
  const ports = new Set<string>()
  for (const c of containersOf(spec)) {
    const hp = (c.ports ?? []).filter((p: any) => p.hostPort).map((p: any) => String(p.hostPort))
    if (hp.length) bad.push(c.name)
    for (const p of hp) ports.add(p)
  }
  if (!bad.length) return undefined
  const list = [...ports].sort()
  return {reason: 'hostPort', detail: `${plural('container', 'containers', bad.length)} ${joinQuote(bad)} ${plural('uses', 'use', bad.length)} ${plural('hostPort', 'hostPorts', list.length)} ${list.join(', ')}`}
}

function privileged(spec: any): Result | undefined {
  const bad = containersOf(spec).filter((c) => c.securityContext?.privileged === true).map((c) => c.name)
  return bad.length ? {reason: 'privileged', detail: `${plural('container', 'containers', bad.length)} ${joinQuote(bad)} must not set securityContext.privileged=true`} : undefined
}

const BASELINE_CAPS = new Set(['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT'])

function capabilitiesBaseline(spec: any): Result | undefined {
  const bad: string[] = []
  const caps = new Set<string>()
  for (const c of containersOf(spec)) {
    const extra = (c.securityContext?.capabilities?.add ?? []).filter((x: string) => !BASELINE_CAPS.has(x))
    if (extra.length) bad.push(c.name)
    for (const x of extra) caps.add(x)
  }
  return bad.length ? {reason: 'non-default capabilities', detail: `${plural('container', 'containers', bad.length)} ${joinQuote(bad)} must not include ${joinQuote([...caps].sort())} in securityContext.capabilities.add`} : undefined
}

function hostPathVolumes(spec: any): Result | undefined {
  const bad = (spec.volumes ?? []).filter((v: any) => v.hostPath).map((v: any) => v.name)
  return bad.length ? {reason: 'hostPath volumes', detail: `${plural('volume', 'volumes', bad.length)} ${joinQuote(bad)}`} : undefined
}

function seccompBaseline(spec: any): Result | undefined {
  const setters: string[] = []
  if (spec.securityContext?.seccompProfile?.type === 'Unconfined') setters.push('pod')
  const bad = containersOf(spec).filter((c) => c.securityContext?.seccompProfile?.type === 'Unconfined').map((c) => c.name)
  if (bad.length) setters.push(`${plural('container', 'containers', bad.length)} ${joinQuote(bad)}`)
  return setters.length ? {reason: 'seccompProfile', detail: `${setters.join(' and ')} must not set securityContext.seccompProfile.type to "Unconfined"`} : undefined
}

function allowPrivilegeEscalation(spec: any): Result | undefined {
  const bad = containersOf(spec).filter((c) => c.securityContext?.allowPrivilegeEscalation !== false).map((c) => c.name)
  return bad.length ? {reason: 'allowPrivilegeEscalation != false', detail: `${plural('container', 'containers', bad.length)} ${joinQuote(bad)} must set securityContext.allowPrivilegeEscalation=false`} : undefined
}

function capabilitiesRestricted(spec: any): Result | undefined {
  const missingDrop: string[] = []
  const adding: string[] = []
  const caps = new Set<string>()
  for (const c of containersOf(spec)) {
    const cap = c.securityContext?.capabilities
    if (!cap) {
      missingDrop.push(c.name)
      continue
    }
    if (!(cap.drop ?? []).includes('ALL')) missingDrop.push(c.name)
    const extra = (cap.add ?? []).filter((x: string) => x !== 'NET_BIND_SERVICE')
    if (extra.length) adding.push(c.name)
    for (const x of extra) caps.add(x)
  }
  const details: string[] = []
  if (missingDrop.length) details.push(`${plural('container', 'containers', missingDrop.length)} ${joinQuote(missingDrop)} must set securityContext.capabilities.drop=["ALL"]`)
  if (adding.length) details.push(`${plural('container', 'containers', adding.length)} ${joinQuote(adding)} must not include ${joinQuote([...caps].sort())} in securityContext.capabilities.add`)
  return details.length ? {reason: 'unrestricted capabilities', detail: details.join('; ')} : undefined
}

const ALLOWED_VOLUMES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'image', 'persistentVolumeClaim', 'projected', 'secret']

function restrictedVolumes(spec: any): Result | undefined {
  const bad: string[] = []
  const types = new Set<string>()
  for (const v of spec.volumes ?? []) {
    if (ALLOWED_VOLUMES.some((k) => v[k] !== undefined && v[k] !== null)) continue
    bad.push(v.name)
    types.add(Object.keys(v).find((k) => k !== 'name') ?? 'unknown')
  }
  if (!bad.length) return undefined
  const t = [...types].sort()
  return {reason: 'restricted volume types', detail: `${plural('volume', 'volumes', bad.length)} ${joinQuote(bad)} ${plural('uses', 'use', bad.length)} ${plural('restricted volume type', 'restricted volume types', t.length)} ${joinQuote(t)}`}
}

function runAsNonRoot(spec: any): Result | undefined {
  const setters: string[] = []
  const podValue = spec.securityContext?.runAsNonRoot
  if (podValue === false) setters.push('pod')
  const explicit: string[] = []
  const implicit: string[] = []
  for (const c of containersOf(spec)) {
    const v = c.securityContext?.runAsNonRoot
    if (v === false) explicit.push(c.name)
    else if (v === undefined || v === null) {
      if (podValue !== true) implicit.push(c.name)
    }
  }
  if (explicit.length) setters.push(`${plural('container', 'containers', explicit.length)} ${joinQuote(explicit)}`)
  if (setters.length) return {reason: 'runAsNonRoot != true', detail: `${setters.join(' and ')} must not set securityContext.runAsNonRoot=false`}
  if (implicit.length) return {reason: 'runAsNonRoot != true', detail: `pod or ${plural('container', 'containers', implicit.length)} ${joinQuote(implicit)} must set securityContext.runAsNonRoot=true`}
  return undefined
}

function runAsUser(spec: any): Result | undefined {
  const setters: string[] = []
  if (spec.securityContext?.runAsUser === 0) setters.push('pod')
  const bad = containersOf(spec).filter((c) => c.securityContext?.runAsUser === 0).map((c) => c.name)
  if (bad.length) setters.push(`${plural('container', 'containers', bad.length)} ${joinQuote(bad)}`)
  return setters.length ? {reason: 'runAsUser=0', detail: `${setters.join(' and ')} must not set runAsUser=0`} : undefined
}

const validSeccomp = (t: unknown) => t === 'RuntimeDefault' || t === 'Localhost'

function seccompRestricted(spec: any): Result | undefined {
  const setters: string[] = []
  const badValues = new Set<string>()
  const pod = spec.securityContext?.seccompProfile
  let podSet = false
  if (pod) {
    if (!validSeccomp(pod.type)) {
      setters.push('pod')
      badValues.add(String(pod.type ?? ''))
    } else podSet = true
  }
  const explicit: string[] = []
  const implicit: string[] = []
  for (const c of containersOf(spec)) {
    const p = c.securityContext?.seccompProfile
    if (p) {
      if (!validSeccomp(p.type)) {
        explicit.push(c.name)
        badValues.add(String(p.type ?? ''))
      }
    } else if (!podSet) implicit.push(c.name)
  }
  if (explicit.length) setters.push(`${plural('container', 'containers', explicit.length)} ${joinQuote(explicit)}`)
  if (setters.length) return {reason: 'seccompProfile', detail: `${setters.join(' and ')} must not set securityContext.seccompProfile.type to ${joinQuote([...badValues].sort())}`}
  if (implicit.length) return {reason: 'seccompProfile', detail: `pod or ${plural('container', 'containers', implicit.length)} ${joinQuote(implicit)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`}
  return undefined
}

// Restricted replaces the baseline capability, hostPath and seccomp checks with stricter ones.
const BASELINE = [capabilitiesBaseline, hostNamespaces, hostPathVolumes, hostPorts, privileged, seccompBaseline]
const RESTRICTED = [hostNamespaces, hostPorts, privileged, allowPrivilegeEscalation, capabilitiesRestricted, restrictedVolumes, runAsNonRoot, runAsUser, seccompRestricted]

/** The enforced level and its printed name (`restricted:latest`), from the namespace's labels. */
export function enforcedLevel(ns: KObject | undefined): {level: Level; name: string} | undefined {
  const labels = ns?.metadata?.labels ?? {}
  const raw = labels['pod-security.kubernetes.io/enforce']
  if (raw === undefined || raw === 'privileged') return undefined
  // An unparsable level is enforced as restricted, as the admission plugin does.
  const level: Level = raw === 'baseline' ? 'baseline' : 'restricted'
  const version = labels['pod-security.kubernetes.io/enforce-version'] || 'latest'
  return {level, name: `${level}:${version}`}
}

/** 403 if `spec` violates the level; the message lists every failed check. */
export function checkPodSecurity(level: {level: Level; name: string}, podName: string, spec: any): StatusError | undefined {
  const checks = level.level === 'restricted' ? RESTRICTED : BASELINE
  const failed = checks.map((c) => c(spec ?? {})).filter((r): r is Result => r !== undefined)
  if (!failed.length) return undefined
  const detail = failed.map((r) => (r.detail ? `${r.reason} (${r.detail})` : r.reason)).join(', ')
  return new StatusError(403, 'Forbidden', `pods "${podName}" is forbidden: violates PodSecurity "${level.name}": ${detail}`, {name: podName, kind: 'pods'})
}
