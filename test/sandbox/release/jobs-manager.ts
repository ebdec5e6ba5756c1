// jobs-manager as docs/protocol.md#submit-request and #submit-response describe it: an HTTP server that lives "inside" the
// jobs-manager pod (reached only through port-forward → kubelet.connect(ns, pod, 8080)). It reviews the
// caller's SA token, applies the ingestion-authz policy, validates body and YAML with its own schema
// copy, dedupes by idempotency key, and creates the per-run ConfigMap, Secret and Job.
import {createHash, randomBytes} from 'node:crypto'
import * as fs from 'node:fs'
import http from 'node:http'
import * as yaml from 'js-yaml'
import type {Faults} from '../faults.js'
import {StatusError, type KObject, type ResourceKey, type Store} from '../types.js'
import {schemaFile} from './ingestor/ingestor.js'
import {formatPyErrors, validatePy} from './pyjsonschema.js'

const CONFIGMAPS: ResourceKey = {group: '', version: 'v1', resource: 'configmaps'}
const SECRETS: ResourceKey = {group: '', version: 'v1', resource: 'secrets'}
const JOBS: ResourceKey = {group: 'batch', version: 'v1', resource: 'jobs'}
const DEPLOYMENTS: ResourceKey = {group: 'apps', version: 'v1', resource: 'deployments'}

export const SUBMIT_PATH = '/internal/submit-ingestion-run'
const DIGEST = /^sha256:[a-f0-9]{64}$/
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/

/** TokenReview outcome: the SA identity, or why the token was rejected. */
export type TokenReviewResult = {namespace: string; serviceAccount: string} | {error: string}

export interface JobsManagerOptions {
  store: Store
  faults: Faults
  namespace: string
  release: string
  /** TokenReview against the API server's issuer (the composition wires the apiserver's verifier). */
  reviewToken(token: string): Promise<TokenReviewResult>
}

interface Run {
  fingerprint: string
  jobName: string
}

export class JobsManager {
  readonly server: http.Server
  private readonly runs = new Map<string, Run>()

  constructor(private readonly opts: JobsManagerOptions) {
    this.server = http.createServer((req, res) => void this.handle(req, res))
  }

  private schemaBytes(): Buffer {
    return fs.readFileSync(schemaFile(this.opts.faults.get().serverSchema))
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const send = (code: number, body: unknown) => {
      const data = JSON.stringify(body)
      res.writeHead(code, {'content-type': 'application/json', 'content-length': Buffer.byteLength(data)})
      res.end(data)
    }
    const url = new URL(req.url ?? '/', 'http://jobs-manager')
    try {
      if (req.method === 'GET' && url.pathname === '/healthz') return send(200, {status: 'ok'})
      if (req.method === 'GET' && url.pathname === '/v1/version') {
        if (this.opts.faults.get().noVersionEndpoint) return send(404, {detail: 'Not Found'})
        return send(200, {schema_version: 'v1', schema_sha256: createHash('sha256').update(this.schemaBytes()).digest('hex')})
      }
      if (url.pathname === SUBMIT_PATH) {
        if (req.method !== 'POST') return send(405, {detail: 'Method Not Allowed'})
        const body = await readAll(req)
        const [code, out] = await this.submit(req.headers.authorization, body)
        return send(code, out)
      }
      send(404, {detail: 'Not Found'})
    } catch (e) {
      send(500, {error: 'internal', detail: (e as Error).message})
    }
  }

  /** The submit flow, in the documented order. Returns [status, JSON body]. */
  async submit(authorization: string | undefined, raw: Buffer): Promise<[number, Record<string, unknown>]> {
    const burst = this.opts.faults.take('submitErrorBurst')
    if (burst) return [burst.status, {error: 'unavailable', detail: 'jobs-manager is temporarily unavailable (sandbox fault submitErrorBurst)'}]
    const m = /^Bearer (.+)$/.exec(authorization ?? '')
    if (!m) return [401, {error: 'unauthorized', detail: 'missing bearer token'}]
    const review = await this.opts.reviewToken(m[1].trim())
    if ('error' in review) return [401, {error: 'unauthorized', detail: `token review failed: ${review.error}`}]
    const policy = this.policy()
    const entry = policy.find((e) => e.namespace === review.namespace && e.service_account === review.serviceAccount)
    if (!entry) return [403, {error: 'forbidden', detail: `service account ${review.namespace}/${review.serviceAccount} is not allowed to submit ingestion runs`}]

    let body: unknown
    try {
      body = JSON.parse(raw.toString('utf8'))
    } catch {
      return [400, {error: 'bad_request', detail: 'request body is not valid JSON'}]
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return [422, {error: 'invalid', detail: 'request body must be a JSON object'}]
    const b = body as Record<string, unknown>
    const extra = Object.keys(b).filter((k) => !['ingest_config', 'idempotency_key', 'image_digest'].includes(k))
    if (extra.length) return [422, {error: 'invalid', detail: `unexpected field(s): ${extra.join(', ')}`}]
    if (typeof b.ingest_config !== 'string' || b.ingest_config === '') return [422, {error: 'invalid', detail: 'ingest_config: a non-empty string is required'}]
    if (typeof b.idempotency_key !== 'string' || b.idempotency_key === '') return [422, {error: 'invalid', detail: 'idempotency_key: a non-empty string is required'}]
    if (b.idempotency_key.length > 63 || !LABEL_VALUE.test(b.idempotency_key)) {
      return [422, {error: 'invalid', detail: 'idempotency_key must be a valid label value (at most 63 characters [A-Za-z0-9._-], starting and ending alphanumeric)'}]
    }
    if ('image_digest' in b && (typeof b.image_digest !== 'string' || !DIGEST.test(b.image_digest))) {
      return [422, {error: 'invalid', detail: 'image_digest must match ^sha256:[a-f0-9]{64}$ (tags are not accepted)'}]
    }
    let cfg: unknown
    try {
      cfg = yaml.load(b.ingest_config, {schema: yaml.YAML11_SCHEMA})
    } catch (e) {
      return [422, {error: 'invalid', detail: `ingest.yaml is not valid YAML:\n  ${(e as Error).message.split('\n')[0]}`}]
    }
    if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) {
      return [422, {error: 'invalid', detail: 'ingest.yaml must be a mapping at the top level (apiVersion / kind / category / ...).'}]
    }
    const errors = validatePy(JSON.parse(this.schemaBytes().toString('utf8')), cfg)
    if (errors.length) return [422, {error: 'invalid', detail: `ingest.yaml validation failed:\n${formatPyErrors(errors)}`}]
    const table = String((cfg as Record<string, unknown>).table)
    if (!entry.table_prefixes.some((p) => p === '*' || table.startsWith(p))) {
      return [403, {error: 'forbidden', detail: `table '${table}' is not allowed for ${review.namespace}/${review.serviceAccount} (allowed prefixes: ${entry.table_prefixes.join(', ')})`}]
    }

    const key = b.idempotency_key
    const digest = (b.image_digest as string | undefined) ?? this.defaultDigest()
    const fingerprint = createHash('sha256').update(JSON.stringify([b.ingest_config, b.image_digest ?? null])).digest('hex')
    const prior = this.runs.get(key)
    if (prior) {
      if (prior.fingerprint !== fingerprint) return [409, {error: 'conflict', detail: `idempotency_key '${key}' was already used for a different request (job ${prior.jobName})`}]
      return [200, {job_name: prior.jobName, namespace: this.opts.namespace, replay: true}]
    }
    const hash = createHash('sha256').update(key).digest('hex').slice(0, 10)
    const jobName = `ingest-job-${hash}`
    this.createRun(hash, key, b.ingest_config, digest)
    this.runs.set(key, {fingerprint, jobName})
    return [201, {job_name: jobName, namespace: this.opts.namespace, replay: false}]
  }

  private defaultDigest(): string {
    const d = this.opts.store.get(DEPLOYMENTS, this.opts.namespace, `${this.opts.release}-jobs-manager`)
    const env: KObject[] = d?.spec?.template?.spec?.containers?.[0]?.env ?? []
    return (env.find((e) => e.name === 'INGESTOR_IMAGE_DIGEST')?.value as string | undefined) ?? ''
  }

  /** `allowed:` entries of the ingestion-authz ConfigMap; missing or empty = deny all. */
  private policy(): {service_account: string; namespace: string; table_prefixes: string[]}[] {
    const cm = this.opts.store.get(CONFIGMAPS, this.opts.namespace, `${this.opts.release}-ingestion-authz`)
    const text = cm?.data?.['ingestion-authz.yaml']
    if (!text) return []
    const doc = yaml.load(text) as {allowed?: {service_account?: string; namespace?: string; table_prefixes?: string[]}[]} | null
    return (doc?.allowed ?? []).map((e) => ({
      service_account: e.service_account ?? 'ingestor',
      namespace: e.namespace ?? this.opts.namespace,
      table_prefixes: e.table_prefixes ?? [],
    }))
  }

  private createRun(hash: string, key: string, ingestConfig: string, digest: string): void {
    const ns = this.opts.namespace
    const labels = {'app.kubernetes.io/managed-by': 'jobs-manager', 'tracebloc.io/ingestion-run': key}
    const create = (k: ResourceKey, o: KObject) => {
      try {
        this.opts.store.create(k, o)
      } catch (e) {
        // self-heal: an orphan from an earlier attempt with the same key is reused
        if (!(e instanceof StatusError && e.code === 409)) throw e
      }
    }
    create(CONFIGMAPS, {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: `ingest-config-${hash}`, namespace: ns, labels}, data: {'ingest.yaml': ingestConfig}})
    create(SECRETS, {apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: {name: `ingest-token-${hash}`, namespace: ns, labels}, data: {BACKEND_TOKEN: Buffer.from(`tb-${randomBytes(24).toString('hex')}`).toString('base64')}})
    const image = `ghcr.io/tracebloc/ingestor${digest ? `@${digest}` : ':0.8'}`
    create(JOBS, {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {name: `ingest-job-${hash}`, namespace: ns, labels},
      spec: {
        backoffLimit: 0,
        ttlSecondsAfterFinished: 86400,
        template: {
          metadata: {labels},
          spec: {
            restartPolicy: 'Never',
            securityContext: {runAsUser: 65534, runAsGroup: 65534, fsGroup: 65534},
            containers: [{
              name: 'ingestor',
              image,
              imagePullPolicy: digest ? 'IfNotPresent' : 'Always',
              env: [
                {name: 'INGEST_CONFIG', value: '/etc/tracebloc/ingest/ingest.yaml'},
                {name: 'MYSQL_HOST', value: 'mysql-client'},
                {name: 'CLIENT_ENV', value: 'prod'},
                {name: 'BACKEND_TOKEN', valueFrom: {secretKeyRef: {name: `ingest-token-${hash}`, key: 'BACKEND_TOKEN'}}},
                {name: 'TRACEBLOC_INGEST_CORRELATION_ID', value: key},
                // serviceDbAccounts-style credentials (newer ingestors require them); the sandbox uses root
                {name: 'DB_USER', value: 'root'},
                {name: 'DB_PASSWORD', valueFrom: {secretKeyRef: {name: `${this.opts.release}-secrets`, key: 'MYSQL_ROOT_PASSWORD'}}},
                ...(this.opts.faults.get().perIngestionTables ? [{name: 'PER_INGESTION_TABLES', value: '1'}] : []),
              ],
              volumeMounts: [
                {name: 'shared', mountPath: '/data/shared'},
                {name: 'ingest-config', mountPath: '/etc/tracebloc/ingest', readOnly: true},
              ],
            }],
            volumes: [
              {name: 'shared', persistentVolumeClaim: {claimName: 'client-pvc'}},
              {name: 'ingest-config', configMap: {name: `ingest-config-${hash}`}},
            ],
          },
        },
      },
    })
  }
}

function readAll(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}
