// The sandbox object store on its own: SigV4 (header and presigned), TLS with its CA, paging and
// multipart ETags from fauxqs, each fault switch, the static HTTPS server, object-store.env, and the pod
// network (a labelled pod reaches the store and nothing else; others have no network).
import assert from 'node:assert/strict'
import {execFile, execFileSync, spawnSync} from 'node:child_process'
import {promisify} from 'node:util'
import {createHash} from 'node:crypto'
import * as fs from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import os from 'node:os'
import path from 'node:path'
import {after, afterEach, before, test} from 'node:test'

import {CreateBucketCommand, CreateMultipartUploadCommand, CompleteMultipartUploadCommand, GetObjectCommand, PutObjectCommand, S3Client, UploadPartCommand} from '@aws-sdk/client-s3'
import {getSignedUrl} from '@aws-sdk/s3-request-presigner'

import {Faults} from '../sandbox/faults.js'
import {startObjectStore, type ObjectStore} from '../sandbox/object-store/index.js'
import {canMakePodNetwork, createPodNetwork} from '../sandbox/object-store/netns.js'

let store: ObjectStore
const faults = new Faults()
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tb-objstore-'))
let s3: S3Client

before(async () => {
  store = await startObjectStore({faults, dir})
  s3 = new S3Client({endpoint: store.httpsUrl, region: store.region, forcePathStyle: true, credentials: {accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey}, requestHandler: {httpsAgent: new https.Agent({ca: store.caPem})}})
  await s3.send(new CreateBucketCommand({Bucket: 'data'}))
  await s3.send(new PutObjectCommand({Bucket: 'data', Key: 'small.txt', Body: 'hello, store\n'}))
  await s3.send(new PutObjectCommand({Bucket: 'data', Key: 'big.bin', Body: Buffer.alloc(256 * 1024, 7)}))
})
after(async () => {
  await store?.stop()
  fs.rmSync(dir, {recursive: true, force: true})
})
afterEach(() => faults.clear())

/** GET with Node's http(s) (not the SDK): status, headers, body, and whether the connection was cut. */
function get(url: string): Promise<{status: number; headers: http.IncomingHttpHeaders; body: Buffer; cut: boolean}> {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https:') ? https : http
    const req = mod.get(url, {ca: store.caPem}, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), cut: false}))
      res.on('error', () => resolve({status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), cut: true}))
      res.on('aborted', () => resolve({status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), cut: true}))
    })
    req.on('error', reject)
  })
}
const presign = (key: string, expiresIn = 300, client = s3) => getSignedUrl(client, new GetObjectCommand({Bucket: 'data', Key: key}), {expiresIn})

test('HTTPS needs the store CA; with it, SigV4 calls and presigned GETs work', async () => {
  const url = await presign('small.txt')
  const r = await get(url)
  assert.equal(r.status, 200)
  assert.equal(r.body.toString(), 'hello, store\n')
  await assert.rejects(new Promise((resolve, reject) => https.get(url, resolve).on('error', reject)), /self-signed|unable to verify|certificate/i)
})

test('a wrong secret, a tampered signature, another host and an expired URL are refused', async () => {
  const wrong = new S3Client({endpoint: store.httpUrl, region: store.region, forcePathStyle: true, credentials: {accessKeyId: store.accessKeyId, secretAccessKey: 'not-the-secret'}})
  await assert.rejects(wrong.send(new GetObjectCommand({Bucket: 'data', Key: 'small.txt'})), (e: Error) => e.name === 'SignatureDoesNotMatch')
  const unknown = new S3Client({endpoint: store.httpUrl, region: store.region, forcePathStyle: true, credentials: {accessKeyId: 'AKIANOTKNOWN', secretAccessKey: 'x'}})
  await assert.rejects(unknown.send(new GetObjectCommand({Bucket: 'data', Key: 'small.txt'})), (e: Error) => e.name === 'InvalidAccessKeyId')
  const url = await presign('small.txt')
  assert.equal((await get(url.replace(/X-Amz-Signature=[0-9a-f]/, (m) => m.slice(0, -1) + (m.endsWith('0') ? '1' : '0')))).status, 403)
  assert.equal((await get(url.replace('small.txt', 'big.bin'))).status, 403, 'a signature is for one key')
  // signed for the HTTPS port, fetched on the HTTP one: Host is signed
  const other = url.replace(store.httpsUrl, store.httpUrl)
  assert.equal((await get(other)).status, 403)
  // the store's clock runs 10 minutes ahead: a 5-minute URL has expired
  faults.set({objectStore: {clockSkewSeconds: 600}})
  const expired = await get(url)
  assert.equal(expired.status, 403)
  assert.match(expired.body.toString(), /<Code>AccessDenied<\/Code>.*expired/s)
})

test('multipart ETag is md5 of the part md5s with the part count', async () => {
  const parts = [Buffer.alloc(5 * 1024 * 1024, 1), Buffer.alloc(5 * 1024 * 1024, 2), Buffer.alloc(1024, 3)]
  const {UploadId} = await s3.send(new CreateMultipartUploadCommand({Bucket: 'data', Key: 'multi.bin'}))
  const done = []
  for (const [i, p] of parts.entries()) {
    const r = await s3.send(new UploadPartCommand({Bucket: 'data', Key: 'multi.bin', UploadId, PartNumber: i + 1, Body: p}))
    done.push({ETag: r.ETag, PartNumber: i + 1})
  }
  await s3.send(new CompleteMultipartUploadCommand({Bucket: 'data', Key: 'multi.bin', UploadId, MultipartUpload: {Parts: done}}))
  const r = await get(await presign('multi.bin'))
  const want = createHash('md5').update(Buffer.concat(parts.map((p) => createHash('md5').update(p).digest()))).digest('hex') + '-3'
  assert.equal(r.headers.etag, `"${want}"`)
})

test('fault: 503 SlowDown with Retry-After, then the object', async () => {
  faults.set({objectStore: {slowDown: {count: 1, retryAfterSeconds: 2, keyIncludes: 'small'}}})
  const url = await presign('small.txt')
  const first = await get(url)
  assert.equal(first.status, 503)
  assert.equal(first.headers['retry-after'], '2')
  assert.match(first.body.toString(), /<Code>SlowDown<\/Code>/)
  assert.equal((await get(url)).status, 200)
})

test('fault: a cut connection delivers a short body, once', async () => {
  faults.set({objectStore: {cutAfterBytes: {bytes: 1000, times: 1, keyIncludes: 'big'}}})
  const url = await presign('big.bin')
  const cut = await get(url)
  assert.equal(cut.cut || cut.body.length < 256 * 1024, true)
  assert.equal(cut.body.length, 1000)
  const whole = await get(url)
  assert.equal(whole.body.length, 256 * 1024)
})

test('fault: a body that does not match its ETag', async () => {
  faults.set({objectStore: {corruptBody: {times: 1, keyIncludes: 'small'}}})
  const r = await get(await presign('small.txt'))
  assert.equal(r.status, 200)
  assert.notEqual(`"${createHash('md5').update(r.body).digest('hex')}"`, r.headers.etag)
  const again = await get(await presign('small.txt'))
  assert.equal(`"${createHash('md5').update(again.body).digest('hex')}"`, again.headers.etag)
})

test('fault: an object changed mid-pull (cut, then new content under the same key)', async () => {
  await s3.send(new PutObjectCommand({Bucket: 'data', Key: 'moving.bin', Body: Buffer.alloc(64 * 1024, 5)}))
  const url = await presign('moving.bin')
  const before = await get(url)
  faults.set({objectStore: {changeMidPull: {bytes: 4096, keyIncludes: 'moving'}}})
  const cut = await get(url)
  assert.equal(cut.body.length, 4096)
  for (let i = 0; i < 50; i++) {
    const now = await get(url)
    if (now.headers.etag !== before.headers.etag) return
    await new Promise((r) => setTimeout(r, 20))
  }
  assert.fail('the object did not change')
})

test('the static HTTPS server serves files with ETag and ranges', async () => {
  fs.writeFileSync(path.join(store.staticDir, 'houses.csv'), 'id,price\n1,100\n')
  const r = await get(`${store.staticUrl}/houses.csv`)
  assert.equal(r.status, 200)
  assert.equal(r.body.toString(), 'id,price\n1,100\n')
  assert.equal(r.headers.etag, `"${createHash('md5').update('id,price\n1,100\n').digest('hex')}"`)
  assert.equal((await get(`${store.staticUrl}/nope.csv`)).status, 404)
  assert.equal((await get(`${store.staticUrl}/../../etc/passwd`)).status, 404)
})

test('object-store.env points an S3 client at the store', async () => {
  const caFile = path.join(dir, 'ca.pem')
  fs.writeFileSync(caFile, store.caPem)
  const env = store.envFile({tls: true, caFile})
  assert.match(env, new RegExp(`^export AWS_ENDPOINT_URL=${store.httpsUrl}$`, 'm'))
  assert.match(env, /^export AWS_CA_BUNDLE=.*ca\.pem$/m)
  assert.match(env, /^export AWS_REGION=us-east-1$/m)
  assert.doesNotMatch(store.envFile({tls: false, caFile}), /AWS_CA_BUNDLE/)
  // the aws CLI is not on every machine; curl's SigV4 is, so sign one call with the env's keys (S3
  // wants x-amz-content-sha256, which curl before 8.2 does not send: the empty body's hash)
  const vars = Object.fromEntries([...env.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1], m[2]]))
  // (async: the store runs in this process)
  const {stdout: out} = await promisify(execFile)('curl', ['-sS', '-H', `x-amz-content-sha256: ${createHash('sha256').digest('hex')}`, '--cacert', vars.AWS_CA_BUNDLE, '--aws-sigv4', `aws:amz:${vars.AWS_REGION}:s3`, '--user', `${vars.AWS_ACCESS_KEY_ID}:${vars.AWS_SECRET_ACCESS_KEY}`, `${vars.AWS_ENDPOINT_URL}/data/small.txt`], {encoding: 'utf8', timeout: 30_000})
  assert.equal(out, 'hello, store\n')
})

test('a pod network left by a killed sandbox is removed by the next one', async (c) => {
  if (!canMakePodNetwork()) return c.skip('needs Linux, root and iproute2')
  const dead = spawnSync(process.execPath, ['-e', '0']).pid
  const orphan = `tbsb-${dead}-0bad0bad`
  execFileSync('ip', ['netns', 'add', orphan])
  const net = createPodNetwork()
  try {
    assert.doesNotMatch(execFileSync('ip', ['netns', 'list'], {encoding: 'utf8'}), new RegExp(orphan))
    assert.match(execFileSync('ip', ['netns', 'list'], {encoding: 'utf8'}), new RegExp(net.netns))
  } finally {
    net.remove()
    spawnSync('ip', ['netns', 'del', orphan])
  }
})
