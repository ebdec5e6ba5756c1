// `cluster info`: what the connect probe finds, as one document, the exit code of the first blocking
// problem, and the human view.
import {JOBS_MANAGER_PORT} from '../cluster/discovery.js'
import {describePermission, exitCodeFor, PUSH_PERMISSIONS, TOKEN_PERMISSIONS} from '../cluster/rbac.js'
import {TOKEN_SECONDS} from '../cluster/token.js'
import {CliError, ExitCode} from '../output/errors.js'
import {style} from '../output/style.js'
import {SCHEMA_SHA256, SCHEMA_VERSION} from '../schema/index.js'
import type {Probe} from './probe.js'

export interface ClusterInfo {
  context: string
  server: string
  /** The cluster's identity: its kube-system namespace UID (what the wrong-cluster guard compares). */
  cluster_uid?: string
  namespace: string
  release: string
  chart_version: string
  app_version: string
  jobs_manager: {service: string; url: string; pod?: string; ready: boolean; error?: string}
  ingestor_sa: string
  ingestor_image_digest?: string
  /** How a push would get the ingestor token; checked without minting one. */
  token: {source?: string; sha256_prefix?: string; expires_at?: string; lifetime_seconds?: number; error?: string}
  pvc: {name: string; phase?: string; access_modes?: string[]; capacity?: string; error?: string}
  schema: {cli: {version: string; sha256: string}; server?: {version?: string; sha256?: string}; match?: boolean}
  permissions: Array<{permission: string; allowed: boolean; purpose: string}>
  ready: boolean
}

/** The probe's steps, each stopping here with push's exit code or reported in the document. */
export async function clusterInfo(probe: Probe, warn: (s: string) => void): Promise<ClusterInfo> {
  const t = await probe.target()
  const rel = await probe.release()
  if (rel.note) warn(rel.note)
  const ns = rel.namespace
  const info: ClusterInfo = {
    context: t.context,
    server: t.server,
    cluster_uid: (await probe.identity().catch(() => undefined))?.uid,
    namespace: ns,
    release: rel.release,
    chart_version: rel.chartVersion,
    app_version: rel.appVersion,
    jobs_manager: {service: rel.service.name, url: `http://${rel.service.name}.${ns}.svc.cluster.local:${JOBS_MANAGER_PORT}`, ready: false},
    ingestor_sa: `${ns}/${rel.ingestorSA}`,
    ingestor_image_digest: rel.ingestorDigest,
    token: {},
    pvc: {name: 'client-pvc'},
    schema: {cli: {version: SCHEMA_VERSION, sha256: SCHEMA_SHA256}},
    permissions: [],
    ready: false,
  }
  const problem = (e: unknown) => (e instanceof CliError ? e.message : (e as Error).message)
  try {
    const pvc = await probe.pvc()
    Object.assign(info.pvc, {phase: pvc.phase, access_modes: pvc.accessModes, capacity: pvc.capacity})
  } catch (error) {
    info.pvc.error = problem(error)
  }
  const checks = await probe.permissions('push+token', [...PUSH_PERMISSIONS, ...TOKEN_PERMISSIONS])
  info.permissions = checks.map((c) => ({permission: describePermission(c), allowed: c.allowed, purpose: c.purpose}))
  try {
    // a SelfSubjectAccessReview answers "could a push mint it?" without minting a live credential
    const tok = await probe.tokenAvailability()
    info.token =
      tok.source === 'secret'
        ? {source: tok.source, sha256_prefix: tok.fingerprint, expires_at: 'never (static secret)'}
        : {source: tok.source, lifetime_seconds: TOKEN_SECONDS}
  } catch (error) {
    info.token.error = problem(error)
  }
  try {
    const jm = await probe.jobsManager()
    info.jobs_manager.pod = jm.pod
    info.jobs_manager.ready = true
    const s = jm.schema
    if (s) info.schema.server = {version: s.schema_version, sha256: s.schema_sha256}
    if (s?.schema_sha256) info.schema.match = s.schema_sha256 === SCHEMA_SHA256
  } catch (error) {
    info.jobs_manager.error = problem(error)
  }
  const tokenOk = Boolean(info.token.source)
  info.ready = tokenOk && info.jobs_manager.ready && !info.pvc.error && checks.filter((c) => c.resource !== 'serviceaccounts' && c.resource !== 'secrets').every((c) => c.allowed)
  return info
}

/** Not ready: the exit code of the first blocking problem, in pipeline order (Go CLI table). */
export async function clusterInfoExitCode(info: ClusterInfo, probe: Probe): Promise<number> {
  if (info.ready) return ExitCode.OK
  // as push: the permission check (stage pods first) comes before the token is fetched
  const checks = await probe.permissions('push+token', [...PUSH_PERMISSIONS, ...TOKEN_PERMISSIONS]) // answered once, cached
  const blocking = checks.filter((c) => !c.allowed && c.resource !== 'serviceaccounts' && c.resource !== 'secrets')
  return info.pvc.error ? ExitCode.NO_CLIENT : blocking.length > 0 ? exitCodeFor(blocking) : info.token.error ? ExitCode.AUTH : ExitCode.SUBMIT
}

export function clusterInfoLines(i: ClusterInfo): string[] {
  const lines: string[] = []
  const ok = (b: boolean) => (b ? style.green('✔') : style.red('✖'))
  const row = (k: string, v: string) => lines.push(`  ${k.padEnd(16)} ${v}`)
  lines.push(style.bold('Kubeconfig'))
  row('context', i.context)
  row('server', i.server)
  row('cluster', i.cluster_uid ? `kube-system UID ${i.cluster_uid}` : 'unknown')
  row('namespace', i.namespace)
  lines.push(style.bold('Client release'))
  row('name', i.release)
  row('chart version', i.chart_version)
  row('app version', i.app_version)
  row('jobs-manager', `${i.jobs_manager.url} ${ok(i.jobs_manager.ready)} ${i.jobs_manager.pod ?? i.jobs_manager.error ?? ''}`)
  row('ingestor SA', i.ingestor_sa)
  row('ingestor image', i.ingestor_image_digest ?? '<not pinned — jobs-manager uses its default tag>')
  row('client-pvc', i.pvc.error ? `${ok(false)} ${i.pvc.error}` : `${i.pvc.phase} ${i.pvc.access_modes?.join(',') ?? ''} ${i.pvc.capacity ?? ''}`)
  lines.push(style.bold('Ingestor token'))
  if (i.token.error) row('error', i.token.error)
  else {
    row('source', i.token.source === 'TokenRequest' ? 'TokenRequest (allowed; minted by a push, not here)' : (i.token.source ?? ''))
    if (i.token.sha256_prefix) row('sha256[:8]', i.token.sha256_prefix)
    if (i.token.lifetime_seconds) row('lifetime', `${i.token.lifetime_seconds / 60} min, minted again before the submit if needed`)
    if (i.token.expires_at) row('expires', i.token.expires_at)
  }
  lines.push(style.bold('Schema'))
  row('cli', `${i.schema.cli.version} ${i.schema.cli.sha256.slice(0, 12)}…`)
  row('jobs-manager', i.schema.server ? `${i.schema.server.version ?? '?'} ${(i.schema.server.sha256 ?? '').slice(0, 12)}… ${i.schema.match ? ok(true) : style.yellow('differs')}` : 'not reported (GET /v1/version unavailable)')
  lines.push(style.bold('Permissions'))
  const w = Math.max(0, ...i.permissions.map((p) => p.permission.length))
  for (const p of i.permissions) lines.push(`  ${ok(p.allowed)} ${p.permission.padEnd(w)}  ${p.purpose}`)
  lines.push('')
  lines.push(i.ready ? `${ok(true)} Ready for \`tracebloc dataset push\`.` : `${ok(false)} Not ready: fix the items marked ✖ above.`)
  return lines
}
