// S3 and GCS (through its S3-compatible XML API) for remote sources: credentials by the standard AWS
// chain, endpoint and region resolution, paged listing, ranged and small GETs, presigned GETs.
// The official AWS SDK is loaded only here and only for s3:// and gs:// sources (it costs ~65–90 ms to
// load), so every other command starts as before. We use it rather than our own signer because the
// credential chain (profiles, SSO token cache, assume-role, web identity, process, instance roles) is
// large, security-sensitive and must match what `aws` does for the same environment.
import {readFileSync} from 'node:fs'
import https from 'node:https'

import {CliError, ExitCode} from '../output/errors.js'
import {trimChar} from '../output/format.js'
import {registerSecret} from '../output/redact.js'
import {checksumHex, classifyEtag, type ObjectFacts} from './facts.js'
import type {RemoteSource} from './url.js'

type S3Module = typeof import('@aws-sdk/client-s3')
type S3ClientT = import('@aws-sdk/client-s3').S3Client

export interface StoreOptions {
  /** Endpoint override (`--endpoint-url`); else AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL (s3), GCS's for gs://. */
  endpointUrl?: string
  /**
   * The endpoint the cluster reaches the store at, when it differs from the user's (an in-cluster MinIO
   * behind a port-forward): presigned URLs are signed for the host they will be fetched from.
   */
  clusterEndpointUrl?: string
  region?: string
  /** PEM file of the CAs to trust for the store (`--ca-bundle`); else AWS_CA_BUNDLE. */
  caBundle?: string
  /** Path-style addressing; default on for a custom endpoint and for GCS. */
  forcePathStyle?: boolean
  env?: NodeJS.ProcessEnv
}

export interface ListedObject {
  key: string
  size: number
  etag: string
  lastModified?: string
}

export interface RemoteBucket {
  kind: 's3' | 'gs'
  bucket: string
  region: string
  /** The endpoint in use, or undefined for AWS's own. */
  endpoint?: string
  /** Pages of up to pageSize objects under prefix (ListObjectsV2). */
  list(prefix: string, opts?: {pageSize?: number; signal?: AbortSignal}): AsyncGenerator<ListedObject[]>
  head(key: string, signal?: AbortSignal): Promise<ObjectFacts>
  /** Bytes [start, end] inclusive. */
  getRange(key: string, start: number, end: number, signal?: AbortSignal): Promise<Buffer>
  /** The whole object, refusing one larger than maxBytes. */
  getSmall(key: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer>
  /**
   * Part size of a multipart object (the size of part 1): HEAD with partNumber=1, or, for a store that
   * ignores partNumber on HEAD, the Content-Length of a GET of part 1 whose body is dropped unread.
   */
  partSize(key: string, size: number, signal?: AbortSignal): Promise<number | undefined>
  /** A presigned GET, valid for expiresSeconds; registered as a secret before it is returned. */
  presignGet(key: string, expiresSeconds: number): Promise<string>
}

const GCS_ENDPOINT = 'https://storage.googleapis.com'
/** SigV4's limit for a presigned URL (7 days). */
export const MAX_PRESIGN_SECONDS = 604800

let sdk: Promise<S3Module> | undefined
const loadSdk = () => (sdk ??= import('@aws-sdk/client-s3'))

/** The endpoint the standard environment variables set for S3 (the SDKs' rules), or undefined. */
export function envEndpoint(env: NodeJS.ProcessEnv): string | undefined {
  if (/^true$/i.test(env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ?? '')) return undefined
  return env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined
}

function checkEndpoint(url: string, what: string): string {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new CliError(`${what} is not a URL: ${url}`, {exitCode: ExitCode.BAD_INPUT, hint: 'write it as https://host[:port]', reason: 'bad_endpoint'})
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new CliError(`${what} must be http:// or https://: ${url}`, {exitCode: ExitCode.BAD_INPUT, reason: 'bad_endpoint'})
  return trimChar(url, '/', 'end')
}

function gcsCredentials(env: NodeJS.ProcessEnv): {accessKeyId: string; secretAccessKey: string} {
  const accessKeyId = env.GCS_HMAC_ACCESS_KEY_ID
  const secretAccessKey = env.GCS_HMAC_SECRET_ACCESS_KEY
  if (accessKeyId && secretAccessKey) return {accessKeyId, secretAccessKey}
  if (env.GOOGLE_APPLICATION_CREDENTIALS) {
    throw new CliError('gs:// sources with a service-account key (GOOGLE_APPLICATION_CREDENTIALS) are not supported yet', {
      exitCode: ExitCode.AUTH,
      hint: 'create an HMAC key for the service account (gcloud storage hmac create SA_EMAIL) and set GCS_HMAC_ACCESS_KEY_ID and GCS_HMAC_SECRET_ACCESS_KEY',
      reason: 'gcs_service_account_unsupported',
    })
  }
  throw new CliError('no credentials for gs:// sources', {
    exitCode: ExitCode.AUTH,
    hint: 'create an HMAC key (gcloud storage hmac create SA_EMAIL) and set GCS_HMAC_ACCESS_KEY_ID and GCS_HMAC_SECRET_ACCESS_KEY',
    reason: 'no_credentials',
  })
}

/** A user-facing error for an SDK failure while doing `action` (the IAM action name) on `what`. */
export function storeFailure(error: unknown, action: string, what: string, endpoint: string | undefined): CliError {
  const e = error as {name?: string; code?: string; message?: string; $metadata?: {httpStatusCode?: number}; cause?: {code?: string}}
  const name = e?.name ?? ''
  const status = e?.$metadata?.httpStatusCode
  const net = e?.code ?? e?.cause?.code ?? ''
  const where = endpoint ?? 'AWS S3'
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(e?.message ?? '')) {
    return new CliError('no AWS credentials found for the s3:// source', {
      exitCode: ExitCode.AUTH,
      hint: 'set AWS_PROFILE (run `aws sso login` for SSO profiles) or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
      reason: 'no_credentials',
      cause: error,
    })
  }
  if (name === 'NoSuchBucket') return new CliError(`${what}: the bucket does not exist`, {exitCode: ExitCode.BAD_INPUT, hint: 'check the bucket name and the account/endpoint', reason: 'no_such_bucket', cause: error})
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) return new CliError(`${what}: not found`, {exitCode: ExitCode.BAD_INPUT, hint: 'check the key; list the prefix with `aws s3 ls`', reason: 'no_such_key', cause: error})
  if (name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch') {
    return new CliError(`the store rejected the credentials (${name})`, {exitCode: ExitCode.AUTH, hint: 'check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the profile, and that they belong to this endpoint', reason: 'bad_credentials', cause: error})
  }
  if (name === 'AccessDenied' || status === 403) {
    return new CliError(`access denied: ${action} on ${what}`, {exitCode: ExitCode.AUTH, hint: `grant ${action} on it to the identity in use (aws sts get-caller-identity)`, reason: 'access_denied', cause: error})
  }
  if (name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed' || name === 'IllegalLocationConstraintException' || status === 301) {
    // S3 and most compatible stores name both regions in the message: "the region 'a' is wrong; expecting 'b'"
    const m = /region '([a-z0-9-]+)' is wrong; expecting '([a-z0-9-]+)'/i.exec(e?.message ?? '')
    if (m) return new CliError(`${what} is in region ${m[2]}, not ${m[1]}`, {exitCode: ExitCode.BAD_INPUT, hint: `set AWS_REGION=${m[2]} (or region = ${m[2]} in the profile)`, reason: 'wrong_region', cause: error})
    return new CliError(`${what} is in another region than the one in use`, {exitCode: ExitCode.BAD_INPUT, hint: 'set AWS_REGION to the bucket\'s region', reason: 'wrong_region', cause: error})
  }
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/i.test(net) || /certificate/i.test(e?.message ?? '')) {
    return new CliError(`cannot verify the TLS certificate of ${where}`, {exitCode: ExitCode.LOCAL_ENV, hint: 'pass the CA that signed it with --ca-bundle (or AWS_CA_BUNDLE)', reason: 'tls_untrusted', cause: error})
  }
  if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|ENETUNREACH/.test(net) || name === 'TimeoutError') {
    return new CliError(`cannot reach ${where} (${net || name})`, {exitCode: ExitCode.LOCAL_ENV, hint: 'check the endpoint URL, your network and any proxy settings', reason: 'store_unreachable', cause: error})
  }
  return new CliError(`${action} on ${what} failed: ${name || 'error'}${status ? ` (HTTP ${status})` : ''}`, {exitCode: ExitCode.GENERIC, reason: 'store_error', cause: error})
}

/** Opens the bucket of an s3:// or gs:// source: resolves credentials, endpoint and region up front. */
export async function openBucket(src: Extract<RemoteSource, {kind: 's3' | 'gs'}>, opts: StoreOptions = {}): Promise<RemoteBucket> {
  const env = opts.env ?? process.env
  const gs = src.kind === 'gs'
  const endpoint = opts.endpointUrl ? checkEndpoint(opts.endpointUrl, '--endpoint-url') : gs ? checkEndpoint(env.GCS_ENDPOINT_URL || GCS_ENDPOINT, 'GCS_ENDPOINT_URL') : envEndpoint(env) && checkEndpoint(envEndpoint(env)!, 'AWS_ENDPOINT_URL')
  const forcePathStyle = opts.forcePathStyle ?? (gs || !!endpoint)
  const caFile = opts.caBundle ?? env.AWS_CA_BUNDLE
  let ca: string | undefined
  if (caFile) {
    try {
      ca = readFileSync(caFile, 'utf8')
    } catch (error) {
      throw new CliError(`cannot read the CA bundle ${caFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {exitCode: ExitCode.BAD_INPUT, hint: 'pass a PEM file', reason: 'bad_ca_bundle'})
    }
  }
  const staticCreds = gs ? gcsCredentials(env) : undefined
  const {S3Client, ListObjectsV2Command, HeadObjectCommand, GetObjectCommand, HeadBucketCommand} = await loadSdk()

  const make = (region: string | undefined, ep = endpoint): S3ClientT =>
    new S3Client({
      region: gs ? 'auto' : region,
      endpoint: ep,
      forcePathStyle,
      credentials: staticCreds,
      // a CA bundle replaces the trusted roots, as AWS_CA_BUNDLE does for the aws CLI
      requestHandler: ca ? {httpsAgent: new https.Agent({ca, keepAlive: true})} : undefined,
    })

  // credentials first: "no credentials" is the commonest failure and needs no network
  let client = make(opts.region ?? (env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined))
  let region: string
  try {
    region = gs ? 'auto' : await client.config.region()
  } catch {
    region = 'us-east-1' // nothing configured: ask the bucket (below)
    client = make(region)
  }
  try {
    const creds = await client.config.credentials()
    registerSecret(creds.secretAccessKey)
    registerSecret(creds.sessionToken)
  } catch (error) {
    throw storeFailure(error, 'sts:GetCallerIdentity', 'the credentials', endpoint)
  }
  const what = `${src.kind}://${src.bucket}`
  // region discovery: S3 names the bucket's region in x-amz-bucket-region, even on a 301/403
  if (!gs) {
    try {
      const out = await client.send(new HeadBucketCommand({Bucket: src.bucket}))
      if (out.BucketRegion && out.BucketRegion !== region) {
        region = out.BucketRegion
        client = make(region)
      }
    } catch (error) {
      const hdr = (error as {$response?: {headers?: Record<string, string>}}).$response?.headers?.['x-amz-bucket-region']
      if (hdr && hdr !== region) {
        region = hdr
        client = make(region)
      } else {
        let f: CliError | undefined = storeFailure(error, 's3:ListBucket', what, endpoint)
        // a HEAD's 403 or 400 has no body: a one-key listing says whether the key is unknown, the
        // signature wrong, the region wrong (and which is right), or the access really denied
        const st = (error as {$metadata?: {httpStatusCode?: number}}).$metadata?.httpStatusCode
        if (f.reason === 'access_denied' || st === 400) {
          try {
            await client.send(new ListObjectsV2Command({Bucket: src.bucket, MaxKeys: 1}))
            f = undefined
          } catch (listError) {
            f = storeFailure(listError, 's3:ListBucket', what, endpoint)
          }
        }
        // HeadBucket's 404 has no code in its (empty) body
        if (f) throw f.reason === 'no_such_key' ? new CliError(`${what}: the bucket does not exist`, {exitCode: ExitCode.BAD_INPUT, hint: 'check the bucket name and the account/endpoint', reason: 'no_such_bucket'}) : f
      }
    }
  }
  const presigner = opts.clusterEndpointUrl ? make(region, checkEndpoint(opts.clusterEndpointUrl, 'the cluster endpoint URL')) : client
  let fastSign: Promise<PresignObject> | undefined
  const keyWhat = (key: string) => `${src.kind}://${src.bucket}/${key}`

  return {
    kind: src.kind,
    bucket: src.bucket,
    region,
    endpoint,
    async *list(prefix, o = {}) {
      let token: string | undefined
      do {
        let page
        try {
          page = await client.send(new ListObjectsV2Command({Bucket: src.bucket, Prefix: prefix || undefined, MaxKeys: o.pageSize ?? 1000, ContinuationToken: token}), {abortSignal: o.signal})
        } catch (error) {
          throw storeFailure(error, 's3:ListBucket', keyWhat(prefix), endpoint)
        }
        yield (page.Contents ?? []).map((c) => ({key: c.Key!, size: Number(c.Size ?? 0), etag: (c.ETag ?? '').replace(/^"|"$/g, ''), lastModified: c.LastModified?.toISOString()}))
        token = page.IsTruncated ? page.NextContinuationToken : undefined
      } while (token)
    },
    async head(key, signal) {
      try {
        const h = await client.send(new HeadObjectCommand({Bucket: src.bucket, Key: key, ChecksumMode: 'ENABLED'}), {abortSignal: signal})
        // a composite checksum (…-N) is over parts, not the object: not a full-object digest
        const full = (v: string | undefined) => (v && !v.includes('-') ? checksumHex(v) : undefined)
        return {
          key,
          size: Number(h.ContentLength ?? 0),
          ...classifyEtag(h.ETag, {sse: h.ServerSideEncryption, sseCustomer: h.SSECustomerAlgorithm}),
          checksums: {sha256: full(h.ChecksumSHA256), sha1: full(h.ChecksumSHA1), crc32: full(h.ChecksumCRC32), crc32c: full(h.ChecksumCRC32C)},
          lastModified: h.LastModified?.toISOString(),
        }
      } catch (error) {
        throw storeFailure(error, 's3:GetObject', keyWhat(key), endpoint)
      }
    },
    async getRange(key, start, end, signal) {
      try {
        const r = await client.send(new GetObjectCommand({Bucket: src.bucket, Key: key, Range: `bytes=${start}-${end}`}), {abortSignal: signal})
        return Buffer.from(await r.Body!.transformToByteArray())
      } catch (error) {
        throw storeFailure(error, 's3:GetObject', keyWhat(key), endpoint)
      }
    },
    async getSmall(key, maxBytes, signal) {
      try {
        const r = await client.send(new GetObjectCommand({Bucket: src.bucket, Key: key}), {abortSignal: signal})
        if (Number(r.ContentLength ?? 0) > maxBytes) {
          ;(r.Body as {destroy?: () => void} | undefined)?.destroy?.()
          throw new CliError(`${keyWhat(key)} is ${r.ContentLength} bytes, more than the ${maxBytes} read here`, {exitCode: ExitCode.BAD_INPUT, reason: 'object_too_large'})
        }
        return Buffer.from(await r.Body!.transformToByteArray())
      } catch (error) {
        if (error instanceof CliError) throw error
        throw storeFailure(error, 's3:GetObject', keyWhat(key), endpoint)
      }
    },
    async partSize(key, size, signal) {
      try {
        const h = await client.send(new HeadObjectCommand({Bucket: src.bucket, Key: key, PartNumber: 1}), {abortSignal: signal})
        const n = Number(h.ContentLength ?? 0)
        if (n > 0 && (n < size || h.PartsCount === 1)) return n
        const r = await client.send(new GetObjectCommand({Bucket: src.bucket, Key: key, PartNumber: 1}), {abortSignal: signal})
        ;(r.Body as {destroy?: () => void} | undefined)?.destroy?.()
        const m = Number(r.ContentLength ?? 0)
        return m > 0 ? m : undefined
      } catch (error) {
        throw storeFailure(error, 's3:GetObject', keyWhat(key), endpoint)
      }
    },
    async presignGet(key, expiresSeconds) {
      if (!(expiresSeconds >= 1 && expiresSeconds <= MAX_PRESIGN_SECONDS)) throw new RangeError(`presign expiry ${expiresSeconds}s is outside 1..${MAX_PRESIGN_SECONDS}`)
      fastSign ??= objectPresigner(presigner, src.bucket)
      const url = await (await fastSign)(key, Math.floor(expiresSeconds))
      registerSecret(url)
      registerSecret(new URL(url).searchParams.get('X-Amz-Signature'))
      return url
    },
  }
}

/** A presigned GET of one key of a bucket: expiry in seconds; the signing time is now unless given. */
export type PresignObject = ((key: string, expiresIn: number, signingDate?: Date) => Promise<string>) & {
  /** Signed from the captured request (false: each URL through getSignedUrl). */
  captured?: boolean
}

/**
 * Presigned GETs for every key of one bucket, as the SDK's getSignedUrl makes them but without its cost per
 * URL: getSignedUrl builds and runs the client's middleware stack for each (~0.9 ms here, so 10 000 objects
 * waited ~9 s before a pull began). The request differs between keys only in its path, so it is captured once
 * from that same stack (serialisation, endpoint and path style, the checksum-mode header), and each key's copy
 * is signed by the SDK's own S3 presigner (~0.2 ms). The key is encoded as the SDK encodes a `{Key+}` label.
 * Where the capture does not work out (another SDK layout), every URL goes through getSignedUrl.
 * test/unit/remote-presign.test.ts pins the URLs to getSignedUrl's, byte for byte.
 */
export async function objectPresigner(client: S3ClientT, bucket: string): Promise<PresignObject> {
  const {GetObjectCommand} = (await import('@aws-sdk/client-s3')) as S3Module
  const presignerModule = await import('@aws-sdk/s3-request-presigner')
  const {getSignedUrl, S3RequestPresigner} = presignerModule
  const slow: PresignObject = (key, expiresIn, signingDate) => getSignedUrl(client, new GetObjectCommand({Bucket: bucket, Key: key}), {expiresIn, signingDate})
  try {
    // the presigner's own dependencies, resolved as it resolves them
    const {createRequire} = await import('node:module')
    const req = createRequire(import.meta.resolve('@aws-sdk/s3-request-presigner'))
    const {formatUrl} = req('@aws-sdk/core/util') as {formatUrl: (r: unknown) => string}
    type Captured = {request: {path: string; query: Record<string, string>; headers: Record<string, string>}; region?: string; service?: string}
    let captured: Captured | undefined
    const stack = client.middlewareStack.clone()
    const capture = (_next: unknown, context: Record<string, string>) => async (args: {request: Captured['request']}) => {
      captured = {request: args.request, region: context.signing_region, service: context.signing_service}
      return {response: {}, output: {$metadata: {httpStatusCode: 200}}}
    }
    stack.addRelativeTo(
      capture as never,
      {name: 'tracebloc-capture', relation: 'before', toMiddleware: 'awsAuthMiddleware', override: true},
    )
    const probe = new GetObjectCommand({Bucket: bucket, Key: 'k'})
    await probe.resolveMiddleware(stack as never, client.config, {})({input: probe.input})
    const template = captured?.request
    if (!captured || !template || !template.path.endsWith('/k')) return slow
    for (const h of ['amz-sdk-invocation-id', 'amz-sdk-request', 'x-amz-user-agent']) delete template.headers[h]
    const prefix = template.path.slice(0, -1)
    const signer = new S3RequestPresigner({...client.config})
    const {region, service} = captured
    const fast: PresignObject = async (key, expiresIn, signingDate) => {
      const request = Object.assign(Object.create(Object.getPrototypeOf(template) as object) as object, template, {headers: {...template.headers}, query: {...template.query}, path: prefix + encodeKey(key)})
      return formatUrl(await signer.presign(request as never, {expiresIn, signingDate, signingRegion: region, signingService: service}))
    }
    return Object.assign(fast, {captured: true})
  } catch {
    return slow
  }
}

/** A key in a path as the SDK writes a greedy label: each segment URI-encoded, `!'()*` too, slashes kept. */
function encodeKey(key: string): string {
  return key
    .split('/')
    .map((seg) => encodeURIComponent(seg).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/')
}
