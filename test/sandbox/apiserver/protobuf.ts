// Just enough Kubernetes protobuf to read what kubectl 1.32 POSTs for `create token` and
// `auth can-i` (docs/protocol.md#protobuf-bodies): the "k8s\0" envelope (runtime.Unknown) and the few
// messages inside. Only wire types 0 (varint) and 2 (bytes) occur; others are skipped.
import {StatusError} from '../types.js'

type Field = {no: number; varint?: number; bytes?: Buffer}

function readVarint(buf: Buffer, pos: number): [number, number] {
  let result = 0
  let mul = 1
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint')
    const b = buf[pos++]
    result += (b & 0x7f) * mul
    if ((b & 0x80) === 0) return [result, pos]
    mul *= 128
  }
}

export function decodeFields(buf: Buffer): Field[] {
  const out: Field[] = []
  let pos = 0
  while (pos < buf.length) {
    let tag: number
    ;[tag, pos] = readVarint(buf, pos)
    const no = Math.floor(tag / 8)
    const wire = tag & 7
    if (wire === 0) {
      let v: number
      ;[v, pos] = readVarint(buf, pos)
      out.push({no, varint: v})
    } else if (wire === 2) {
      let len: number
      ;[len, pos] = readVarint(buf, pos)
      out.push({no, bytes: buf.subarray(pos, pos + len)})
      pos += len
    } else if (wire === 1) pos += 8
    else if (wire === 5) pos += 4
    else throw new Error(`unsupported wire type ${wire}`)
  }
  return out
}

const str = (fs: Field[], no: number): string | undefined => {
  const f = fs.find((x) => x.no === no && x.bytes)
  return f ? f.bytes!.toString('utf8') : undefined
}
const sub = (fs: Field[], no: number): Field[] | undefined => {
  const f = fs.find((x) => x.no === no && x.bytes)
  return f ? decodeFields(f.bytes!) : undefined
}
const strip = <T extends Record<string, unknown>>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00])

/** Unwrap the envelope; returns apiVersion, kind and the raw object bytes. */
export function decodeEnvelope(body: Buffer): {apiVersion?: string; kind?: string; raw: Buffer} {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) throw new StatusError(400, 'BadRequest', 'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf')
  const unknown = decodeFields(body.subarray(4))
  const typeMeta = sub(unknown, 1) ?? []
  const raw = unknown.find((f) => f.no === 2)?.bytes ?? Buffer.alloc(0)
  return {apiVersion: str(typeMeta, 1), kind: str(typeMeta, 2), raw}
}

function objectMeta(fs: Field[] | undefined): Record<string, unknown> {
  return fs ? strip({name: str(fs, 1), generateName: str(fs, 2), namespace: str(fs, 3)}) : {}
}

/** authentication.k8s.io/v1 TokenRequest → its JSON form. */
export function decodeTokenRequest(raw: Buffer): Record<string, any> {
  const top = decodeFields(raw)
  const spec = sub(top, 2) ?? []
  const ref = sub(spec, 3)
  const exp = spec.find((f) => f.no === 4 && f.varint !== undefined)?.varint
  return {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    metadata: objectMeta(sub(top, 1)),
    spec: strip({
      audiences: spec.filter((f) => f.no === 1 && f.bytes).map((f) => f.bytes!.toString('utf8')),
      boundObjectRef: ref ? strip({kind: str(ref, 1), apiVersion: str(ref, 2), name: str(ref, 3), uid: str(ref, 4)}) : undefined,
      expirationSeconds: exp,
    }),
  }
}

/** authorization.k8s.io/v1 SelfSubjectAccessReview → its JSON form. */
export function decodeSelfSubjectAccessReview(raw: Buffer): Record<string, any> {
  const top = decodeFields(raw)
  const spec = sub(top, 2) ?? []
  const ra = sub(spec, 1)
  const nra = sub(spec, 2)
  return {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SelfSubjectAccessReview',
    metadata: objectMeta(sub(top, 1)),
    spec: strip({
      resourceAttributes: ra ? strip({namespace: str(ra, 1), verb: str(ra, 2), group: str(ra, 3), version: str(ra, 4), resource: str(ra, 5), subresource: str(ra, 6), name: str(ra, 7)}) : undefined,
      nonResourceAttributes: nra ? strip({path: str(nra, 1), verb: str(nra, 2)}) : undefined,
    }),
  }
}

/** Encoder for tests: a field of wire type 2 or 0. */
export function encodeField(no: number, value: Buffer | string | number): Buffer {
  const varint = (n: number): Buffer => {
    const bytes: number[] = []
    while (n >= 0x80) {
      bytes.push((n % 128) | 0x80)
      n = Math.floor(n / 128)
    }
    bytes.push(n)
    return Buffer.from(bytes)
  }
  if (typeof value === 'number') return Buffer.concat([varint(no * 8), varint(value)])
  const b = typeof value === 'string' ? Buffer.from(value) : value
  return Buffer.concat([varint(no * 8 + 2), varint(b.length), b])
}

export function encodeEnvelope(apiVersion: string, kind: string, raw: Buffer): Buffer {
  const typeMeta = Buffer.concat([encodeField(1, apiVersion), encodeField(2, kind)])
  return Buffer.concat([MAGIC, encodeField(1, typeMeta), encodeField(2, raw), encodeField(3, ''), encodeField(4, '')])
}
