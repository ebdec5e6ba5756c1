// Small HTTP helpers: metav1.Status rendering and request bodies.
import type {IncomingMessage, ServerResponse} from 'node:http'
import {StatusError} from '../types.js'
import {noteBody} from './recorder.js'

export const MAX_BODY = 3 * 1024 * 1024

export function statusObject(code: number, reason: string, message: string, details?: Record<string, unknown>): Record<string, unknown> {
  return {kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? {details: strip(details)} : {}), code}
}

const strip = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined))

export function toStatusError(e: unknown): StatusError {
  if (e instanceof StatusError) return e
  return new StatusError(500, 'InternalError', `Internal error occurred: ${e instanceof Error ? e.message : String(e)}`)
}

export function sendJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const data = JSON.stringify(body)
  res.writeHead(code, {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data), 'Cache-Control': 'no-cache, private', ...headers})
  res.end(data)
}

export function sendError(res: ServerResponse, e: unknown, headers: Record<string, string> = {}): void {
  const s = toStatusError(e)
  sendJson(res, s.code, statusObject(s.code, s.reason, s.message, s.details), headers)
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  let n = 0
  for await (const c of req) {
    n += (c as Buffer).length
    if (n > MAX_BODY) throw new StatusError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728')
    chunks.push(c as Buffer)
  }
  const body = Buffer.concat(chunks)
  noteBody(req, body)
  return body
}

export function parseJson(buf: Buffer): any {
  try {
    return JSON.parse(buf.toString('utf8'))
  } catch (e) {
    throw new StatusError(400, 'BadRequest', `the object provided is unrecognized: ${(e as Error).message}`)
  }
}

/** Write a raw HTTP response on a socket that asked for an upgrade we refuse. */
export function refuseUpgrade(socket: import('node:stream').Duplex, e: unknown, headers: Record<string, string> = {}): void {
  const s = toStatusError(e)
  const body = JSON.stringify(statusObject(s.code, s.reason, s.message, s.details))
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')
  socket.end(`HTTP/1.1 ${s.code} ${s.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`)
}
