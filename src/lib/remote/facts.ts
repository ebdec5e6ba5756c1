// What a store promises about an object, so the puller can check every byte it got against it.
// S3 ETags are the body's MD5 only for single-part uploads without SSE-KMS/SSE-C; a multipart ETag is
// md5(md5(part1)‖…‖md5(partN))-N, checkable only when the part size is known. x-amz-checksum-* values
// are base64 of the raw digest; we carry them as hex, as sha256sum/md5sum print them.

export type EtagKind = 'md5' | 'multipart' | 'opaque'

export interface ObjectFacts {
  key: string
  size: number
  /** ETag without quotes. */
  etag: string
  etagKind: EtagKind
  /** Hex MD5 of the body, when the ETag is one. */
  md5?: string
  /** Number of parts of a multipart ETag. */
  parts?: number
  /** Hex digests the store returned (x-amz-checksum-*), full-object ones only. */
  checksums: {sha256?: string; sha1?: string; crc32?: string; crc32c?: string}
  lastModified?: string
}

export function classifyEtag(raw: string | undefined, encryption?: {sse?: string; sseCustomer?: string}): Pick<ObjectFacts, 'etag' | 'etagKind' | 'md5' | 'parts'> {
  const etag = (raw ?? '').replace(/^W\//, '').replace(/^"|"$/g, '')
  // SSE-KMS and SSE-C ETags are not an MD5 of the plaintext
  const encrypted = encryption?.sseCustomer || (encryption?.sse && encryption.sse !== 'AES256')
  if (!encrypted && /^[0-9a-f]{32}$/i.test(etag)) return {etag, etagKind: 'md5', md5: etag.toLowerCase()}
  const mp = /^[0-9a-f]{32}-(\d{1,5})$/i.exec(etag)
  if (!encrypted && mp) return {etag, etagKind: 'multipart', parts: Number(mp[1])}
  return {etag, etagKind: 'opaque'}
}

/** base64 digest → hex; undefined for composite checksums ("…-N") and junk. */
export function checksumHex(b64: string | undefined): string | undefined {
  if (!b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return undefined
  return Buffer.from(b64, 'base64').toString('hex')
}
