// AWS Signature V4 checks for the sandbox object store: fauxqs accepts any request, a real store does
// not. Both forms are checked: query auth (presigned URLs: expiry and signature) and header auth (SDK
// calls: known key and signature). Canonical form as S3 builds it: the path exactly as sent (S3 does
// not re-encode it), the query sorted by RFC 3986-encoded name, the signed headers trimmed.
import {createHash, createHmac, timingSafeEqual} from 'node:crypto'
import type {IncomingMessage} from 'node:http'

export interface SigV4Failure {
  status: 400 | 403
  code: 'AccessDenied' | 'SignatureDoesNotMatch' | 'InvalidAccessKeyId' | 'AuthorizationQueryParametersError'
  message: string
}

const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest()
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex')

function signingKey(secret: string, day: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), service), 'aws4_request')
}

function canonicalQuery(rawQuery: string, skip: string): string {
  const pairs: [string, string][] = []
  for (const part of rawQuery.split('&')) {
    if (!part) continue
    const i = part.indexOf('=')
    const k = decodeURIComponent((i < 0 ? part : part.slice(0, i)).replace(/\+/g, '%20'))
    const v = i < 0 ? '' : decodeURIComponent(part.slice(i + 1).replace(/\+/g, '%20'))
    if (k !== skip) pairs.push([enc(k), enc(v)])
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
  return pairs.map(([k, v]) => `${k}=${v}`).join('&')
}

function headerValue(req: IncomingMessage, name: string): string {
  const v = req.headers[name]
  return (Array.isArray(v) ? v.join(',') : v ?? '').trim().replace(/\s+/g, ' ')
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/** undefined = the request is signed correctly with `keys`' secret; otherwise why not. `nowMs` is the store's clock. */
export function checkSigV4(req: IncomingMessage, keys: Map<string, string>, nowMs: number): SigV4Failure | undefined {
  const url = req.url ?? '/'
  const q = url.indexOf('?')
  const rawPath = q < 0 ? url : url.slice(0, q)
  const rawQuery = q < 0 ? '' : url.slice(q + 1)
  const params = new URLSearchParams(rawQuery)
  const presigned = params.has('X-Amz-Signature')
  let credential: string
  let signedHeaders: string
  let signature: string
  let amzDate: string
  let payloadHash: string
  if (presigned) {
    credential = params.get('X-Amz-Credential') ?? ''
    signedHeaders = params.get('X-Amz-SignedHeaders') ?? ''
    signature = params.get('X-Amz-Signature') ?? ''
    amzDate = params.get('X-Amz-Date') ?? ''
    payloadHash = 'UNSIGNED-PAYLOAD'
    const expires = Number(params.get('X-Amz-Expires'))
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate)
    if (!m || !Number.isFinite(expires)) return {status: 400, code: 'AuthorizationQueryParametersError', message: 'X-Amz-Date or X-Amz-Expires is malformed'}
    const signedAt = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])
    if (nowMs > signedAt + expires * 1000) return {status: 403, code: 'AccessDenied', message: 'Request has expired'}
  } else {
    const auth = headerValue(req, 'authorization')
    const m = /^AWS4-HMAC-SHA256 Credential=([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]+)$/.exec(auth)
    if (!m) return {status: 403, code: 'AccessDenied', message: 'Access Denied (the request is not signed)'}
    ;[, credential, signedHeaders, signature] = m
    amzDate = headerValue(req, 'x-amz-date')
    payloadHash = headerValue(req, 'x-amz-content-sha256') || 'UNSIGNED-PAYLOAD'
  }
  const [keyId, day, region, service, term] = credential.split('/')
  const secret = keys.get(keyId)
  if (secret === undefined) return {status: 403, code: 'InvalidAccessKeyId', message: 'The AWS Access Key Id you provided does not exist in our records.'}
  if (!day || !region || !service || term !== 'aws4_request') return {status: 400, code: 'AuthorizationQueryParametersError', message: 'malformed credential scope'}
  const names = signedHeaders.split(';')
  const creq = [
    req.method ?? 'GET',
    rawPath,
    canonicalQuery(rawQuery, presigned ? 'X-Amz-Signature' : ''),
    names.map((h) => `${h}:${headerValue(req, h)}\n`).join(''),
    signedHeaders,
    payloadHash,
  ].join('\n')
  const scope = `${day}/${region}/${service}/aws4_request`
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(creq)].join('\n')
  const expected = createHmac('sha256', signingKey(secret, day, region, service)).update(toSign).digest('hex')
  if (!same(expected, signature)) return {status: 403, code: 'SignatureDoesNotMatch', message: 'The request signature we calculated does not match the signature you provided.'}
  return undefined
}
