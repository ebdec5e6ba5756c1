import {BaseCommand} from '../../lib/command/base.js'
import {clusterFlags} from '../../lib/command/cluster-flags.js'
import {JOBS_MANAGER_PORT} from '../../lib/cluster/discovery.js'
import {describePermission, exitCodeFor, PUSH_PERMISSIONS, TOKEN_PERMISSIONS} from '../../lib/cluster/rbac.js'
import {TOKEN_SECONDS} from '../../lib/cluster/token.js'
import {Probe} from '../../lib/probe/probe.js'
import {CliError, ExitCode} from '../../lib/output/errors.js'
import {style} from '../../lib/output/style.js'
import {SCHEMA_SHA256, SCHEMA_VERSION} from '../../lib/schema/index.js'

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

export default class ClusterInfoCommand extends BaseCommand<typeof ClusterInfoCommand> {
  static summary = 'Show the tracebloc client release this CLI would push to, and whether it is ready'
  static examples = [
    '<%= config.bin %> cluster info',
    '<%= config.bin %> cluster info --kubeconfig ~/.kube/prod --context prod -n tracebloc',
    '<%= config.bin %> cluster info --json',
  ]
  static description = 'Exits 0 when a push would work; otherwise with the code of the first blocking problem, in the order a push meets them: 4 (client-pvc), 7 (permissions), 5 (token), 8 (jobs-manager).'
  static flags = {...clusterFlags}

  async run(): Promise<ClusterInfo> {
    // the connect probe's steps, each stopping here with push's exit code or reported below
    const probe = new Probe(this.flags)
    const t = await probe.target()
    const rel = await probe.release()
    if (rel.note) this.warnLine(rel.note)
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
    this.render(info)
    // Not ready: the exit code of the first blocking problem, in pipeline order (Go CLI table).
    if (!info.ready) {
      // as push: the permission check (stage pods first) comes before the token is fetched
      const blocking = checks.filter((c) => !c.allowed && c.resource !== 'serviceaccounts' && c.resource !== 'secrets')
      process.exitCode = info.pvc.error ? ExitCode.NO_CLIENT : blocking.length > 0 ? exitCodeFor(blocking) : info.token.error ? ExitCode.AUTH : ExitCode.SUBMIT
    }
    return info
  }

  private render(i: ClusterInfo): void {
    const ok = (b: boolean) => (b ? style.green('✔') : style.red('✖'))
    const row = (k: string, v: string) => this.out(`  ${k.padEnd(16)} ${v}`)
    this.out(style.bold('Kubeconfig'))
    row('context', i.context)
    row('server', i.server)
    row('cluster', i.cluster_uid ? `kube-system UID ${i.cluster_uid}` : 'unknown')
    row('namespace', i.namespace)
    this.out(style.bold('Client release'))
    row('name', i.release)
    row('chart version', i.chart_version)
    row('app version', i.app_version)
    row('jobs-manager', `${i.jobs_manager.url} ${ok(i.jobs_manager.ready)} ${i.jobs_manager.pod ?? i.jobs_manager.error ?? ''}`)
    row('ingestor SA', i.ingestor_sa)
    row('ingestor image', i.ingestor_image_digest ?? '<not pinned — jobs-manager uses its default tag>')
    row('client-pvc', i.pvc.error ? `${ok(false)} ${i.pvc.error}` : `${i.pvc.phase} ${i.pvc.access_modes?.join(',') ?? ''} ${i.pvc.capacity ?? ''}`)
    this.out(style.bold('Ingestor token'))
    if (i.token.error) row('error', i.token.error)
    else {
      row('source', i.token.source === 'TokenRequest' ? 'TokenRequest (allowed; minted by a push, not here)' : (i.token.source ?? ''))
      if (i.token.sha256_prefix) row('sha256[:8]', i.token.sha256_prefix)
      if (i.token.lifetime_seconds) row('lifetime', `${i.token.lifetime_seconds / 60} min, minted again before the submit if needed`)
      if (i.token.expires_at) row('expires', i.token.expires_at)
    }
    this.out(style.bold('Schema'))
    row('cli', `${i.schema.cli.version} ${i.schema.cli.sha256.slice(0, 12)}…`)
    row('jobs-manager', i.schema.server ? `${i.schema.server.version ?? '?'} ${(i.schema.server.sha256 ?? '').slice(0, 12)}… ${i.schema.match ? ok(true) : style.yellow('differs')}` : 'not reported (GET /v1/version unavailable)')
    this.out(style.bold('Permissions'))
    for (const p of i.permissions) row(ok(p.allowed), `${p.permission} — ${p.purpose}`)
    this.out('')
    this.out(i.ready ? `${ok(true)} Ready for \`tracebloc dataset push\`.` : `${ok(false)} Not ready: fix the items marked ✖ above.`)
  }
}
