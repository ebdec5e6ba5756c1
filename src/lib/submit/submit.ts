// POST the ingest config to jobs-manager (docs/protocol.md#submit-request, #submit-response) through a port-forward.
// Transport errors and 5xx/429 are retried with the SAME idempotency key: jobs-manager deduplicates,
// so a retry can only attach to the run the first attempt created, never start a second one.
import {randomBytes} from 'node:crypto'

import {sleep} from '../cluster/kube.js'
import {CliError, ExitCode} from '../output/errors.js'
import {redact} from '../output/redact.js'

export const SUBMIT_PATH = '/internal/submit-ingestion-run'
const SUBMIT_TIMEOUT_MS = 30_000

export interface SubmitBody {
  ingest_config: string
  idempotency_key: string
  image_digest?: string
}

export interface SubmitResult {
  jobName: string
  namespace: string
  replay: boolean
  status: number
  attempts: number
}

/** 32 lowercase hex chars, like the Go CLI: label-safe (it becomes tracebloc.io/ingestion-run). */
export function newIdempotencyKey(): string {
  return randomBytes(16).toString('hex')
}

export const IDEMPOTENCY_KEY_RE = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/
export const IMAGE_DIGEST_RE = /^sha256:[a-f0-9]{64}$/

export function buildSubmitBody(configYaml: string, key: string, imageDigest?: string): SubmitBody {
  // image_digest is absent when unused — never "" or null (docs/protocol.md#submit-request).
  return imageDigest ? {ingest_config: configYaml, idempotency_key: key, image_digest: imageDigest} : {ingest_config: configYaml, idempotency_key: key}
}

function trimBody(text: string): string {
  const t = redact(text.trim())
  return t.length > 2000 ? t.slice(0, 2000) + '…' : t
}

/** Pull the validation lines (formatted as docs/protocol.md#ingestor-config-errors) out of a FastAPI-style {detail} body, if present. */
export function serverDetail(text: string): string {
  try {
    const j = JSON.parse(text)
    const d = j?.detail ?? j?.error ?? j
    return typeof d === 'string' ? d : JSON.stringify(d)
  } catch {
    return text
  }
}

export async function submitIngestion(opts: {
  baseUrl: string
  token: string
  body: SubmitBody
  signal?: AbortSignal
  attempts?: number
  onRetry?: (why: string, attempt: number) => void
}): Promise<SubmitResult> {
  const url = opts.baseUrl + SUBMIT_PATH
  const attempts = opts.attempts ?? 4
  const payload = JSON.stringify(opts.body)
  for (let attempt = 1; ; attempt++) {
    let res: Response
    let text: string
    try {
      const signal = opts.signal ? AbortSignal.any([opts.signal, AbortSignal.timeout(SUBMIT_TIMEOUT_MS)]) : AbortSignal.timeout(SUBMIT_TIMEOUT_MS)
      res = await fetch(url, {method: 'POST', headers: {Authorization: `Bearer ${opts.token}`, 'Content-Type': 'application/json'}, body: payload, signal})
      text = await res.text()
    } catch (error) {
      if (opts.signal?.aborted) throw opts.signal.reason
      const why = (error as Error).name === 'TimeoutError' ? 'timed out after 30s' : ((error as {cause?: Error}).cause?.message ?? (error as Error).message)
      if (attempt < attempts) {
        opts.onRetry?.(why, attempt)
        await sleep(Math.min(1000 * 2 ** (attempt - 1), 8000), opts.signal)
        continue
      }
      throw new CliError(`POST ${SUBMIT_PATH} to jobs-manager failed: ${why}`, {
        exitCode: ExitCode.SUBMIT,
        hint: `retrying with the same --idempotency-key ${opts.body.idempotency_key} is safe: it attaches to the run if one was created`,
        reason: 'submit_transport',
      })
    }
    const retryable = res.status === 429 || (res.status >= 500 && res.status <= 504)
    if (retryable && attempt < attempts) {
      const ra = Number(res.headers.get('retry-after'))
      opts.onRetry?.(`HTTP ${res.status}`, attempt)
      await sleep(Number.isFinite(ra) && ra > 0 ? Math.min(ra, 30) * 1000 : Math.min(1000 * 2 ** (attempt - 1), 8000), opts.signal)
      continue
    }
    if (res.status >= 200 && res.status < 300) {
      let j: {job_name?: unknown; namespace?: unknown; replay?: unknown}
      try {
        j = JSON.parse(text)
      } catch {
        throw new CliError(`jobs-manager answered HTTP ${res.status} with a body that is not JSON: ${trimBody(text)}`, {exitCode: ExitCode.SUBMIT, reason: 'submit_bad_response'})
      }
      if (typeof j.job_name !== 'string' || !j.job_name || typeof j.namespace !== 'string' || !j.namespace) {
        throw new CliError(`jobs-manager response lacks job_name/namespace: ${trimBody(text)}`, {exitCode: ExitCode.SUBMIT, reason: 'submit_bad_response'})
      }
      return {jobName: j.job_name, namespace: j.namespace, replay: j.replay === true || res.status === 200, status: res.status, attempts: attempt}
    }
    throw submitRejected(res.status, text, opts.body.idempotency_key)
  }
}

function submitRejected(status: number, text: string, key: string): CliError {
  const detail = trimBody(serverDetail(text))
  if (status === 401 || status === 403) {
    return new CliError(`jobs-manager rejected the ingestor token (HTTP ${status}): ${detail}`, {
      exitCode: ExitCode.AUTH,
      hint: 'the ingestion-authz policy must allow the ingestor ServiceAccount, this namespace and this table prefix (ConfigMap <release>-ingestion-authz)',
      reason: 'submit_auth',
    })
  }
  if (status === 409) {
    return new CliError(`idempotency key ${key} was already used for a different ingest config (HTTP 409)`, {
      exitCode: ExitCode.SUBMIT,
      hint: 'drop --idempotency-key to start a new run, or resend exactly the same dataset and flags to attach to the earlier run',
      reason: 'idempotency_conflict',
    })
  }
  return new CliError(`jobs-manager rejected the submit (HTTP ${status}): ${detail}`, {
    exitCode: ExitCode.SUBMIT,
    hint: status >= 500 ? 'jobs-manager failed; check its logs: kubectl logs -n <ns> deploy/<release>-jobs-manager' : 'fix the reported problem and push again',
    reason: status >= 500 ? 'submit_server_error' : 'submit_rejected',
  })
}

/** GET /v1/version: the schema jobs-manager validates with. 404 (older jobs-manager) → undefined. */
export async function fetchServerSchema(baseUrl: string, signal?: AbortSignal): Promise<{schema_version?: string; schema_sha256?: string} | undefined> {
  try {
    const s = signal ? AbortSignal.any([signal, AbortSignal.timeout(10_000)]) : AbortSignal.timeout(10_000)
    const res = await fetch(baseUrl + '/v1/version', {signal: s})
    if (!res.ok) return undefined
    return (await res.json()) as {schema_version?: string; schema_sha256?: string}
  } catch {
    return undefined
  }
}
