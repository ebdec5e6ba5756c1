// Opt-in request recorder: with TRACEBLOC_SANDBOX_RECORD=<file> (or ApiServerOptions.recordFile),
// every request the API server receives is appended to <file> as one JSON line:
// {method, path, query, contentType, userAgent, body, status}. The API contract test replays
// these through the validation (see scripts/record-api-requests.mjs).
import {appendFileSync} from 'node:fs'
import type {IncomingMessage, ServerResponse} from 'node:http'

export interface RecordedRequest {
  method: string
  path: string
  query: Record<string, string[]>
  contentType: string
  userAgent: string
  /** Parsed JSON body; base64 string for other media types; absent when empty. */
  body?: unknown
  bodyBase64?: string
  status: number
}

const bodies = new WeakMap<IncomingMessage, Buffer>()

/** readBody hands every body it read here, so the recorder sees what the handler saw. */
export function noteBody(req: IncomingMessage, body: Buffer): void {
  bodies.set(req, body)
}

/**
 * A request refused before its handler read the body (RBAC, injected faults) still carried one:
 * read it for the record. Only while recording, so the server's behaviour is otherwise unchanged.
 */
export async function readBodyForRecord(req: IncomingMessage, read: (req: IncomingMessage) => Promise<Buffer>): Promise<void> {
  if (bodies.has(req) || req.readableEnded || req.method === 'GET' || req.method === 'HEAD') return
  await read(req).catch(() => undefined)
}

export function queryObject(q: URLSearchParams): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const [k, v] of q) (out[k] ??= []).push(v)
  return out
}

export function recordRequest(file: string, req: IncomingMessage, res: ServerResponse | undefined, status?: number): void {
  const write = (code: number) => {
    const url = new URL(req.url ?? '/', 'https://sandbox')
    const contentType = String(req.headers['content-type'] ?? '').split(';')[0].trim()
    const raw = bodies.get(req)
    const rec: RecordedRequest = {method: req.method ?? 'GET', path: url.pathname, query: queryObject(url.searchParams), contentType, userAgent: String(req.headers['user-agent'] ?? ''), status: code}
    if (raw && raw.length) {
      if (contentType === '' || contentType.includes('json')) {
        try {
          rec.body = JSON.parse(raw.toString('utf8'))
        } catch {
          rec.bodyBase64 = raw.toString('base64')
        }
      } else rec.bodyBase64 = raw.toString('base64')
    }
    appendFileSync(file, JSON.stringify(rec) + '\n')
  }
  if (res) res.once('close', () => write(res.statusCode))
  else write(status ?? 101)
}
