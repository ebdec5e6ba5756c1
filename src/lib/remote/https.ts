// https:// sources (an archive or a CSV on a web server): what the server promises about the file
// (HEAD) and ranged reads, with an optional CA bundle. Errors never show the URL's query string: it
// may be a presigned URL, and parseSourceUrl registered it as a secret.
import {readFileSync} from 'node:fs'
import https from 'node:https'

import {CliError, ExitCode} from '../output/errors.js'
import {redact} from '../output/redact.js'

export interface HttpsFacts {
  size: number
  /** Strong ETag without quotes (weak ones promise nothing about bytes). */
  etag?: string
  lastModified?: string
  /** The server answers Range requests: downloads can resume. */
  ranges: boolean
}

export interface HttpsOptions {
  /** PEM file of CAs to trust instead of the system's. */
  caBundle?: string
  signal?: AbortSignal
}

function request(url: string, method: 'HEAD' | 'GET', headers: Record<string, string>, o: HttpsOptions): Promise<{status: number; headers: import('node:http').IncomingHttpHeaders; body: Buffer}> {
  const ca = o.caBundle ? readFileSync(o.caBundle, 'utf8') : undefined
  const shown = redact(url.split('?')[0])
  return new Promise((resolve, reject) => {
    const req = https.request(url, {method, headers, ca, signal: o.signal}, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks)}))
      res.on('error', reject)
    })
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (e.name === 'AbortError') return reject(e)
      if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(e.code ?? '')) {
        return reject(new CliError(`cannot verify the TLS certificate of ${shown}`, {exitCode: ExitCode.LOCAL_ENV, hint: 'pass the CA that signed it with --ca-bundle', reason: 'tls_untrusted'}))
      }
      reject(new CliError(`cannot reach ${shown} (${e.code ?? e.message})`, {exitCode: ExitCode.LOCAL_ENV, hint: 'check the address, your network and any proxy settings', reason: 'source_unreachable'}))
    })
    req.end()
  })
}

function statusError(status: number, url: string): CliError {
  const shown = redact(url.split('?')[0])
  if (status === 404 || status === 410) return new CliError(`${shown}: not found (HTTP ${status})`, {exitCode: ExitCode.BAD_INPUT, hint: 'check the URL', reason: 'no_such_key'})
  if (status === 401 || status === 403) return new CliError(`${shown}: access denied (HTTP ${status})`, {exitCode: ExitCode.AUTH, hint: 'a presigned URL may have expired: make a new one', reason: 'access_denied'})
  return new CliError(`${shown}: the server answered HTTP ${status}`, {exitCode: ExitCode.GENERIC, hint: 'try again later', reason: 'source_error'})
}

export async function httpsFacts(url: string, o: HttpsOptions = {}): Promise<HttpsFacts> {
  const r = await request(url, 'HEAD', {}, o)
  if (r.status !== 200) throw statusError(r.status, url)
  const size = Number(r.headers['content-length'])
  if (!Number.isSafeInteger(size) || size < 0) throw new CliError(`${redact(url.split('?')[0])}: the server does not say how large the file is`, {exitCode: ExitCode.BAD_INPUT, hint: 'serve it with a Content-Length', reason: 'no_content_length'})
  const tag = r.headers.etag
  return {size, etag: tag && !tag.startsWith('W/') ? tag.replace(/^"|"$/g, '') : undefined, lastModified: r.headers['last-modified'], ranges: r.headers['accept-ranges'] === 'bytes'}
}

/** Bytes [start, end] inclusive; a server that ignores Range (200) is an error, not a silent whole download. */
export async function httpsGetRange(url: string, start: number, end: number, o: HttpsOptions = {}): Promise<Buffer> {
  const r = await request(url, 'GET', {range: `bytes=${start}-${end}`}, o)
  if (r.status === 206) return r.body
  if (r.status === 200) throw new CliError(`${redact(url.split('?')[0])}: the server ignores Range requests`, {exitCode: ExitCode.BAD_INPUT, reason: 'no_ranges'})
  throw statusError(r.status, url)
}

/** A small optional file (SHA256SUMS): its bytes, or undefined when the server has none for us (404, 403). */
export async function httpsGetSmall(url: string, maxBytes: number, o: HttpsOptions = {}): Promise<Buffer | undefined> {
  const r = await request(url, 'GET', {}, o)
  if ([401, 403, 404, 410].includes(r.status)) return undefined
  if (r.status !== 200) throw statusError(r.status, url)
  if (r.body.length > maxBytes) throw new CliError(`${redact(url.split('?')[0])} is larger than ${maxBytes} bytes`, {exitCode: ExitCode.BAD_INPUT, reason: 'object_too_large'})
  return r.body
}
