// The support bundle (`doctor --bundle file.tar.gz`): the doctor report, the recent ingestion runs
// (their Jobs, their pods' events and logs, bounded), the release's objects and the CLI's recent-run
// cache and versions. What must never be in it, and how each is kept out:
// - Secret values: Secrets are listed by name, type and key names only; every value read is also
//   registered with the redactor, so one quoted in a log or an event is masked too.
// - Environment values: kept only for names on ENV_ALLOW_LIST; others become [REDACTED] (a
//   `valueFrom` reference is kept: it names a Secret key, not its value).
// - Tokens, kubeconfig credentials, passwords, presigned URLs: every file passes through redact().
//   The kubeconfig itself is not in the bundle (only the context name and the server URL).
// - `kubectl.kubernetes.io/last-applied-configuration` (a copy of the object, Secrets included) and
//   managedFields are dropped.
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {redact, registerSecret} from '../output/redact.js'
import {versionInfo} from '../version-info.js'
import type {DoctorReport} from './doctor.js'
import type {Probe} from './probe.js'

/** Environment variables whose values are configuration, never credentials. */
export const ENV_ALLOW_LIST = new Set([
  'INGEST_CONFIG', 'MYSQL_HOST', 'MYSQL_PORT', 'CLIENT_ENV', 'CLIENT_PVC', 'CLIENT_LOGS_PVC', 'TRACEBLOC_INGEST_CORRELATION_ID', 'PER_INGESTION_TABLES',
  'INGESTOR_IMAGE_REPOSITORY', 'INGESTOR_IMAGE_TAG', 'INGESTOR_IMAGE_DIGEST', 'JOB_IMAGE_HOST', 'LOG_LEVEL', 'TZ',
])
const MASK = '[REDACTED]'
const MAX_RUNS = 10
const LOG_BYTES = 256 * 1024
const MAX_EVENTS = 300

export interface BundleInput {
  report: DoctorReport
  probe: Probe
  cacheDir: string
  cliVersion: string
  signal?: AbortSignal
}

export async function writeBundle(file: string, o: BundleInput): Promise<string> {
  const out = path.resolve(file)
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tracebloc-bundle-'))
  const root = path.join(dir, 'tracebloc-support')
  const put = (name: string, body: unknown) => {
    const p = path.join(root, name)
    mkdirSync(path.dirname(p), {recursive: true})
    writeFileSync(p, redactText(typeof body === 'string' ? body : JSON.stringify(body, null, 2) + '\n'), {mode: 0o600})
  }
  try {
    put('doctor.json', o.report)
    put('versions.json', {cli: versionInfo(o.cliVersion), kubernetes: await o.probe.server().catch(() => undefined)})
    put('recent-runs.json', readOr(path.join(o.cacheDir, 'recent-runs.json')))
    await collectCluster(o, put).catch((error) => put('cluster-error.txt', `${(error as Error).message.split('\n')[0]}\n`))
    const tar = await import('tar')
    await tar.c({gzip: true, file: out, cwd: dir, portable: true, mode: 0o600} as never, ['tracebloc-support'])
    return out
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}

async function collectCluster(o: BundleInput, put: (name: string, body: unknown) => void): Promise<void> {
  const t = await o.probe.target()
  const rel = await o.probe.release()
  const namespace = rel.namespace
  // Secret values first: registered before any other text is written, so a value quoted anywhere is masked
  try {
    const secrets = await t.core.listNamespacedSecret({namespace})
    for (const s of secrets.items) {
      for (const v of Object.values(s.data ?? {})) {
        registerSecret(v)
        registerSecret(Buffer.from(v, 'base64').toString('utf8'))
      }
      for (const v of Object.values(s.stringData ?? {})) registerSecret(v)
    }
    put('release/secrets.json', secrets.items.map((s) => ({name: s.metadata?.name, type: s.type, keys: Object.keys(s.data ?? {}).sort()})))
  } catch {
    put('release/secrets.json', 'not readable by your user\n')
  }
  put('release/release.json', rel)
  const lists: Array<[string, () => Promise<{items: unknown[]}>]> = [
    ['deployments', () => t.apps.listNamespacedDeployment({namespace})],
    ['services', () => t.core.listNamespacedService({namespace})],
    ['configmaps', () => t.core.listNamespacedConfigMap({namespace})],
    ['persistentvolumeclaims', () => t.core.listNamespacedPersistentVolumeClaim({namespace})],
    ['serviceaccounts', () => t.core.listNamespacedServiceAccount({namespace})],
    ['pods', () => t.core.listNamespacedPod({namespace})],
  ]
  await Promise.all(
    lists.map(async ([name, list]) => {
      try {
        put(`release/${name}.json`, (await list()).items.map(scrub))
      } catch (error) {
        put(`release/${name}.json`, `not readable: ${(error as Error).message.split('\n')[0]}\n`)
      }
    }),
  )
  try {
    const ev = await t.core.listNamespacedEvent({namespace})
    put('events.json', ev.items.slice(-MAX_EVENTS).map(scrub))
  } catch {
    put('events.json', 'not readable by your user\n')
  }
  const {RUN_LABEL} = await import('../runs/jobs.js')
  const jobs = await t.batch.listNamespacedJob({namespace, labelSelector: RUN_LABEL}).catch(() => ({items: []}))
  const recent = [...jobs.items].sort((a, b) => String(b.metadata?.creationTimestamp ?? '').localeCompare(String(a.metadata?.creationTimestamp ?? ''))).slice(0, MAX_RUNS)
  for (const job of recent) {
    const name = job.metadata!.name!
    put(`runs/${name}/job.json`, scrub(job))
    const pods = await t.core.listNamespacedPod({namespace, labelSelector: `job-name=${name}`}).catch(() => ({items: []}))
    for (const pod of pods.items) {
      const p = pod.metadata!.name!
      const events = await t.core.listNamespacedEvent({namespace, fieldSelector: `involvedObject.name=${p}`}).catch(() => ({items: []}))
      put(`runs/${name}/${p}.events.json`, events.items.map(scrub))
      try {
        put(`runs/${name}/${p}.log`, String(await t.core.readNamespacedPodLog({name: p, namespace, limitBytes: LOG_BYTES})))
      } catch (error) {
        put(`runs/${name}/${p}.log`, `log not readable: ${(error as Error).message.split('\n')[0]}\n`)
      }
    }
  }
}

/** An API object without what may hold secrets: env values off the allow-list, last-applied copies, managedFields. */
export function scrub<T>(obj: T): T {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk)
    if (!v || typeof v !== 'object') return v
    const o: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (k === 'managedFields') continue
      if (k === 'annotations' && x && typeof x === 'object') {
        o[k] = Object.fromEntries(Object.entries(x).filter(([a]) => a !== 'kubectl.kubernetes.io/last-applied-configuration'))
        continue
      }
      if (k === 'env' && Array.isArray(x)) {
        o[k] = x.map((e: {name?: string; value?: unknown}) => (e && e.value !== undefined && !ENV_ALLOW_LIST.has(String(e.name)) ? {...e, value: MASK} : e))
        continue
      }
      o[k] = walk(x)
    }
    return o
  }
  // client-node objects carry Date instances: go through JSON first
  return walk(JSON.parse(JSON.stringify(obj ?? null))) as T
}

function readOr(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return '{"runs": []}\n'
  }
}

/** A variable name that says it holds a secret. */
const SECRET_NAME = /PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIAL/

/**
 * redact() plus the secret-named keys of `KEY=value` lines (env dumps in logs). The name is matched first and
 * tested on its own: one pattern with the keywords between two `[A-Z0-9_]*` backtracks quadratically on a
 * long run of capitals from the cluster.
 */
function redactText(s: string): string {
  return redact(s).replace(/\b([A-Z][A-Z0-9_]*=)(\S+)/g, (all, name: string) => (SECRET_NAME.test(name) ? `${name}${MASK}` : all))
}
