// The in-cluster pull against the sandbox: the library lists and presigns against the sandbox object
// store, a stage pod on the store's pod network downloads the presigned URLs (given on exec stdin) with
// busybox wget, checks every object against what the store promised, and reports progress. Each store
// fault, HTTPS with the store's CA passed in, and a pod without egress. Presigned URLs must appear in
// no argv of the exec request, pod spec, Event or log.
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import * as fs from 'node:fs'
import https from 'node:https'
import os from 'node:os'
import path from 'node:path'
import {after, afterEach, before, test} from 'node:test'

import {CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, DeleteObjectCommand, PutObjectCommand, S3Client, UploadPartCommand} from '@aws-sdk/client-s3'

import {loadClusterTarget, type ClusterTarget} from '../../src/lib/cluster/kube.js'
import {openBucket, type RemoteBucket} from '../../src/lib/remote/s3.js'
import {buildPullPod, pullIntoPod, type PullEvent, type PullObject} from '../../src/lib/remote/pod-pull.js'
import {parseSourceUrl} from '../../src/lib/remote/url.js'
import {execInPod} from '../../src/lib/cluster/exec.js'
import {buildStagePod, createStagePod, deletePod, stagePodName, waitPodReady} from '../../src/lib/pvc/stage-pod.js'
import {DEFAULT_STAGE_IMAGE} from '../../src/lib/pvc/stage-pod.js'
import {startSandbox, type Sandbox} from '../sandbox/index.js'

let sb: Sandbox
let t: ClusterTarget
let s3: S3Client
let n = 0
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tb-remote-pull-'))
const record = path.join(tmp, 'requests.jsonl')
const files: Record<string, Buffer> = {
  'train.csv': Buffer.from('file,label\nimages/a.bin,cat\nimages/b.bin,dog\n'),
  'images/a.bin': randomBytes(300 * 1024),
  'images/b.bin': randomBytes(70 * 1024),
}
const multipart = [randomBytes(5 * 1024 * 1024), randomBytes(5 * 1024 * 1024), randomBytes(4096)]
const PART = 5 * 1024 * 1024
const saved: Record<string, string | undefined> = {}
let skip: string | false = false

before(async () => {
  sb = await startSandbox({objectStore: true, recordFile: record})
  const store = sb.objectStore!
  if (!store.network) skip = 'no pod network here (needs Linux, root and iproute2)'
  // the library's credentials come from the standard AWS chain: the environment here
  for (const [k, v] of Object.entries({AWS_ACCESS_KEY_ID: store.accessKeyId, AWS_SECRET_ACCESS_KEY: store.secretAccessKey, AWS_REGION: store.region})) {
    saved[k] = process.env[k]
    process.env[k] = v
  }
  t = await loadClusterTarget({kubeconfig: sb.kubeconfigPath})
  s3 = new S3Client({endpoint: store.httpsUrl, region: store.region, forcePathStyle: true, credentials: {accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey}, requestHandler: {httpsAgent: new https.Agent({ca: store.caPem})}})
  await s3.send(new CreateBucketCommand({Bucket: 'acme-ml'}))
  for (const [k, body] of Object.entries(files)) await s3.send(new PutObjectCommand({Bucket: 'acme-ml', Key: `cats/${k}`, Body: body}))
  const {UploadId} = await s3.send(new CreateMultipartUploadCommand({Bucket: 'acme-ml', Key: 'cats/big.bin'}))
  const parts = []
  for (const [i, p] of multipart.entries()) parts.push({PartNumber: i + 1, ETag: (await s3.send(new UploadPartCommand({Bucket: 'acme-ml', Key: 'cats/big.bin', UploadId, PartNumber: i + 1, Body: p}))).ETag})
  await s3.send(new CompleteMultipartUploadCommand({Bucket: 'acme-ml', Key: 'cats/big.bin', UploadId, MultipartUpload: {Parts: parts}}))
})
after(async () => {
  for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]
  else process.env[k] = v
  await sb?.stop()
  fs.rmSync(tmp, {recursive: true, force: true})
})
afterEach(() => sb.faults.clear())

const open = (endpointUrl: string, clusterEndpointUrl?: string, caBundle?: string): Promise<RemoteBucket> =>
  openBucket(parseSourceUrl('s3://acme-ml/cats/') as Extract<ReturnType<typeof parseSourceUrl>, {kind: 's3'}>, {endpointUrl, clusterEndpointUrl, caBundle})

/** A Ready pull pod; the test body runs, then the pod is deleted. */
async function withPod<T>(fn: (pod: string) => Promise<T>): Promise<T> {
  const name = stagePodName(`pull${++n}`)
  await createStagePod(t, buildPullPod({name, namespace: sb.namespace, table: `pull${n}`, serviceAccount: 'ingestor', image: DEFAULT_STAGE_IMAGE, runId: `r${n}`}))
  try {
    await waitPodReady(t, sb.namespace, name, {timeoutMs: 60_000})
    return await fn(name)
  } finally {
    await deletePod(t, sb.namespace, name)
  }
}

/** Lists the prefix, heads each object, presigns it: the pull list for keys (all by default). */
async function plan(bucket: RemoteBucket, keys?: string[], expires = 600): Promise<PullObject[]> {
  const out: PullObject[] = []
  for await (const page of bucket.list('cats/', {pageSize: 2})) {
    for (const o of page) {
      if (keys && !keys.some((k) => o.key.endsWith(k))) continue
      const facts = await bucket.head(o.key)
      out.push({dest: o.key.slice('cats/'.length), url: await bucket.presignGet(o.key, expires), facts, partSize: facts.etagKind === 'multipart' ? PART : undefined})
    }
  }
  return out
}

async function pull(pod: string, objects: PullObject[], caPem?: string) {
  const dest = `/data/shared/remote-${n}`
  const events: PullEvent[] = []
  const r = await pullIntoPod(t, {namespace: sb.namespace, pod, destDir: dest, objects, caPem, parallel: 3, onEvent: (e) => events.push(e)})
  const retries = events.filter((e) => e.type === 'retry').map((e) => `${objects[(e as {index: number}).index].dest}:${(e as {reason: string}).reason}`)
  const failed = r.failed.map((f) => `${objects[f.index].dest}:${f.reason}`)
  return {r, events, retries, failed, hostDir: path.join(sb.pvcDir, `remote-${n}`)}
}

const want = (rel: string) => (rel === 'big.bin' ? Buffer.concat(multipart) : files[rel])

test('HTTP: a pod pulls a prefix (single-part and multipart objects), verified, byte for byte', async (c) => {
  if (skip) return c.skip(skip)
  const bucket = await open(sb.objectStore!.httpUrl)
  const objects = await plan(bucket)
  assert.deepEqual(objects.map((o) => o.dest).sort(), ['big.bin', 'images/a.bin', 'images/b.bin', 'train.csv'])
  assert.equal(objects.find((o) => o.dest === 'big.bin')!.facts.etagKind, 'multipart')
  await withPod(async (pod) => {
    const {r, events, failed, hostDir} = await pull(pod, objects)
    assert.deepEqual(failed, [])
    assert.equal(r.done.length, 4)
    assert.equal(r.bytes, objects.reduce((s, o) => s + o.facts.size, 0))
    for (const o of objects) assert.ok(fs.readFileSync(path.join(hostDir, o.dest)).equals(want(o.dest)), o.dest)
    assert.ok(events.some((e) => e.type === 'start'))
    assert.deepEqual(fs.readdirSync(hostDir, {recursive: true}).filter((f) => String(f).includes('.tbpart')), [], 'no partial files left')
  })
})

test('HTTPS: the store CA passed in is trusted; without it the pod refuses the certificate', async (c) => {
  if (skip) return c.skip(skip)
  const caFile = path.join(tmp, 'ca.pem')
  fs.writeFileSync(caFile, sb.objectStore!.caPem)
  // the user reaches the store by address, the cluster by name: URLs are signed for the cluster's
  const bucket = await open(sb.objectStore!.httpsUrl, sb.objectStore!.podHttpsUrl, caFile)
  const objects = await plan(bucket, ['train.csv'])
  assert.match(objects[0].url, /^https:\/\/tb-objects:/)
  await withPod(async (pod) => {
    const bad = await pull(pod, objects)
    assert.deepEqual(bad.failed, ['train.csv:tls'], 'an unverified certificate must not be accepted')
    const good = await pull(pod, objects, sb.objectStore!.caPem)
    assert.deepEqual(good.failed, [])
    assert.ok(fs.readFileSync(path.join(good.hostDir, 'train.csv')).equals(files['train.csv']))
  })
})

test('faults: cut connection, 503 SlowDown and a corrupt body are retried and end verified', async (c) => {
  if (skip) return c.skip(skip)
  const bucket = await open(sb.objectStore!.httpUrl)
  const objects = await plan(bucket, ['a.bin', 'b.bin', 'train.csv'])
  sb.faults.set({objectStore: {cutAfterBytes: {bytes: 100_000, times: 1, keyIncludes: 'a.bin'}, slowDown: {count: 1, retryAfterSeconds: 1, keyIncludes: 'b.bin'}, corruptBody: {times: 1, keyIncludes: 'train.csv'}}})
  await withPod(async (pod) => {
    const {failed, retries, hostDir} = await pull(pod, objects)
    assert.deepEqual(failed, [])
    assert.deepEqual(retries.sort(), ['images/a.bin:cut', 'images/b.bin:slowdown', 'train.csv:mismatch'])
    for (const o of objects) assert.ok(fs.readFileSync(path.join(hostDir, o.dest)).equals(want(o.dest)), o.dest)
  })
})

test('faults: expired URL (403), object deleted (404), object changed mid-pull: reported, nothing half-written', async (c) => {
  if (skip) return c.skip(skip)
  await s3.send(new PutObjectCommand({Bucket: 'acme-ml', Key: 'cats/gone.bin', Body: randomBytes(1000)}))
  await s3.send(new PutObjectCommand({Bucket: 'acme-ml', Key: 'cats/moving.bin', Body: randomBytes(200_000)}))
  const bucket = await open(sb.objectStore!.httpUrl)
  const objects = await plan(bucket, ['gone.bin', 'moving.bin', 'train.csv'], 60)
  await s3.send(new DeleteObjectCommand({Bucket: 'acme-ml', Key: 'cats/gone.bin'}))
  await withPod(async (pod) => {
    sb.faults.set({objectStore: {changeMidPull: {bytes: 50_000, keyIncludes: 'moving.bin'}}})
    const first = await pull(pod, objects.filter((o) => o.dest !== 'train.csv'))
    assert.deepEqual(first.failed.sort(), ['gone.bin:missing', 'moving.bin:mismatch'])
    // the store's clock is 2 minutes ahead: the 60 s URLs have expired
    sb.faults.set({objectStore: {clockSkewSeconds: 120}})
    const second = await pull(pod, objects.filter((o) => o.dest === 'train.csv'))
    assert.deepEqual(second.failed, ['train.csv:http-403'])
    for (const d of [first.hostDir, second.hostDir]) assert.deepEqual(fs.existsSync(d) ? fs.readdirSync(d, {recursive: true}).filter((f) => fs.statSync(path.join(d, String(f))).isFile()) : [], [])
  })
  await s3.send(new DeleteObjectCommand({Bucket: 'acme-ml', Key: 'cats/moving.bin'}))
})

test('no egress: a pod without a path to the store fails fast with "unreachable"', async (c) => {
  if (skip) return c.skip(skip)
  const bucket = await open(sb.objectStore!.httpUrl)
  const objects = await plan(bucket, ['train.csv'])
  sb.faults.set({objectStore: {noPodEgress: true}})
  await withPod(async (pod) => {
    const {failed} = await pull(pod, objects)
    assert.deepEqual(failed, ['train.csv:unreachable'])
  })
})

test('isolation: a labelled pod reaches the store and nothing else; an unlabelled stage pod has no network', async (c) => {
  if (skip) return c.skip(skip)
  const other = Object.values(os.networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal && i.address !== sb.objectStore!.network!.hostIp)
  await withPod(async (pod) => {
    const store = await execInPod(t, {namespace: sb.namespace, pod, command: ['wget', '-q', '-O-', `${sb.objectStore!.httpUrl}/`]})
    assert.doesNotMatch(store.stderr, /unreachable/i, 'the store answers (403 for an unsigned request)')
    if (other) {
      const r = await execInPod(t, {namespace: sb.namespace, pod, command: ['wget', '-q', '-O-', `http://${other.address}:${new URL(sb.apiUrl).port}/`]})
      assert.notEqual(r.exitCode, 0)
      assert.match(r.stderr, /unreachable/i)
    }
  })
  const bucket = await open(sb.objectStore!.httpUrl)
  const objects = await plan(bucket, ['train.csv'])
  const name = stagePodName(`plain${++n}`)
  await createStagePod(t, buildStagePod({name, namespace: sb.namespace, table: 'plain', serviceAccount: 'ingestor', image: DEFAULT_STAGE_IMAGE, runId: 'plain'}))
  try {
    await waitPodReady(t, sb.namespace, name, {timeoutMs: 60_000})
    const {failed} = await pull(name, objects)
    assert.deepEqual(failed, ['train.csv:unreachable'])
  } finally {
    await deletePod(t, sb.namespace, name)
  }
})

test('presigned URLs never reach the exec request, a pod spec, an Event or a log', async (c) => {
  if (skip) return c.skip(skip)
  const text = fs.readFileSync(record, 'utf8')
  assert.ok(text.includes('/exec'), 'exec requests were recorded')
  assert.doesNotMatch(text, /X-Amz-Signature|X-Amz-Credential/)
  const events = JSON.stringify(sb.store.list({group: '', version: 'v1', resource: 'events'}, {namespace: sb.namespace}).items)
  assert.doesNotMatch(events, /X-Amz-/)
  // nor does the secret key: it never leaves this process
  assert.ok(!text.includes(sb.objectStore!.secretAccessKey))
})
