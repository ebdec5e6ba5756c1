// Remote dataset sources: what a push argument names when it is a URL, not a local path.
import {CliError, ExitCode} from '../output/errors.js'
import {registerSecret} from '../output/redact.js'

export type RemoteSource =
  | {kind: 's3' | 'gs'; bucket: string; /** Key or key prefix, '' for the whole bucket. */ key: string; display: string}
  | {kind: 'https'; url: string; display: string}

/**
 * A scheme followed by `//`: a URL, not a path. Two characters at least, so a Windows drive (`C:\`,
 * `C://`) is never taken for one.
 */
export function isRemoteSource(arg: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]+:\/\//.test(arg)
}

const bad = (message: string, hint: string) => new CliError(message, {exitCode: ExitCode.BAD_INPUT, hint, reason: 'bad_source_url'})

// S3: 3–63 of a-z 0-9 . -, starting and ending with a letter or digit. GCS also allows _ and, with dots,
// up to 222 characters; checking the common ground catches typos early.
const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/
const GS_BUCKET = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/

export function parseSourceUrl(arg: string): RemoteSource {
  const m = /^([A-Za-z][A-Za-z0-9+.-]+):\/\/(.*)$/s.exec(arg)
  if (!m) throw bad(`not a source URL: ${arg}`, 'use s3://bucket/prefix, gs://bucket/prefix, https://host/file, or a local path')
  const scheme = m[1].toLowerCase()
  const rest = m[2]
  if (scheme === 's3' || scheme === 'gs') {
    const slash = rest.indexOf('/')
    const bucket = slash < 0 ? rest : rest.slice(0, slash)
    const key = slash < 0 ? '' : rest.slice(slash + 1)
    if (!bucket) throw bad(`${scheme}:// URL has no bucket: ${arg}`, `write ${scheme}://<bucket>/<prefix>`)
    if (!(scheme === 's3' ? S3_BUCKET : GS_BUCKET).test(bucket) || bucket.includes('..')) {
      throw bad(`"${bucket}" is not a valid ${scheme === 's3' ? 'S3' : 'GCS'} bucket name`, 'bucket names are lower-case letters, digits, dots and hyphens, 3–63 characters')
    }
    if (/[?#]/.test(key) && scheme === 's3') {
      // a ? in a key is legal but almost always a pasted presigned URL: say so instead of listing nothing
      if (/X-Amz-|X-Goog-/i.test(key)) throw bad('the source looks like a presigned URL written as s3://', 'pass the https:// URL as it is, or s3://bucket/key without a query string')
    }
    return {kind: scheme, bucket, key, display: `${scheme}://${bucket}/${key}`}
  }
  if (scheme === 'https') {
    let u: URL
    try {
      u = new URL(arg)
    } catch {
      throw bad(`not a valid URL: ${arg.split('?')[0]}`, 'check the address')
    }
    if (u.username || u.password) throw bad('the https:// source has a user name or password in it', 'pass credentials another way; URLs end up in shell history')
    // a query string may be a bearer credential (a presigned URL): never shown
    if (u.search) registerSecret(u.search.slice(1))
    return {kind: 'https', url: u.href, display: `${u.origin}${u.pathname}`}
  }
  if (scheme === 'http') throw bad('http:// sources are not supported: the data would travel unencrypted and unverified', 'use https://, or an s3:// URL with AWS_ENDPOINT_URL for a store inside your network')
  throw bad(`unsupported source scheme "${scheme}://"`, 'use s3://bucket/prefix, gs://bucket/prefix, https://host/file, or a local path')
}
