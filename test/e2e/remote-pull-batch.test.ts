// The pod pull of many small objects against the sandbox store: they travel in batches (one wget for many
// URLs, cut at the listed sizes), so a failure inside a batch must cost only that object, every other object
// must still land byte for byte, and the sha256 the pod reports (and records for the swap) must be that of
// the verified bytes.
import assert from 'node:assert/strict'
import {createHash, randomBytes} from 'node:crypto'
import * as fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, before, test} from 'node:test'

import {CreateBucketCommand, DeleteObjectCommand, PutObjectCommand, S3Client} from '@aws-sdk/client-s3'

import {loadClusterTarget, type ClusterTarget} from '../../src/lib/cluster/kube.js'
import {classifyEtag} from '../../src/lib/remote/facts.js'
import {buildPullPod, pullIntoPod, type PullEvent, type PullObject} from '../../src/lib/remote/pod-pull.js'
import {openBucket} from '../../src/lib/remote/s3.js'
import {parseSourceUrl} from '../../src/lib/remote/url.js'
import {createStagePod, deletePod, DEFAULT_STAGE_IMAGE, stagePodName, waitPodReady} from '../../src/lib/pvc/stage-pod.js'
import {startSandbox, type Sandbox} from '../sandbox/index.js'

let sb: Sandbox
let t: ClusterTarget
let s3: S3Client
let skip: string | false = false
const saved: Record<string, string | undefined> = {}
// 150 small objects (a few batches per worker), names with a quote, spaces and a dollar sign among them
const names = Array.from({length: 150}, (_, i) => (i === 7 ? `images/it's a $HOME ${i}.bin` : `images/s${i}.bin`))
const bodies = new Map(names.map((n, i) => [n, randomBytes(1000 + ((i * 7919) % 20_000))]))
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tb-remote-batch-'))
const record = path.join(tmp, 'requests.jsonl')

before(async () => {
  sb = await startSandbox({objectStore: true, recordFile: record})
  const store = sb.objectStore!
  if (!store.network) skip = 'no pod network here (needs Linux, root and iproute2)'
  for (const [k, v] of Object.entries({AWS_ACCESS_KEY_ID: store.accessKeyId, AWS_SECRET_ACCESS_KEY: store.secretAccessKey, AWS_REGION: store.region})) {
    saved[k] = process.env[k]
    process.env[k] = v
  }
  t = await loadClusterTarget({kubeconfig: sb.kubeconfigPath})
  s3 = new S3Client({endpoint: store.httpUrl, region: store.region, forcePathStyle: true})
  await s3.send(new CreateBucketCommand({Bucket: 'many'}))
  for (const [k, body] of bodies) await s3.send(new PutObjectCommand({Bucket: 'many', Key: `p/${k}`, Body: body}))
})
after(async () => {
  for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]
  else process.env[k] = v
  await sb?.stop()
  fs.rmSync(tmp, {recursive: true, force: true})
})

test('many small objects: one gone and one grown after the listing cost only themselves; the rest land verified with their sha256 reported and recorded', async (c) => {
  if (skip) return c.skip(skip)
  const bucket = await openBucket(parseSourceUrl('s3://many/p/') as Extract<ReturnType<typeof parseSourceUrl>, {kind: 's3'}>, {endpointUrl: sb.objectStore!.httpUrl})
  const objects: PullObject[] = []
  for await (const page of bucket.list('p/')) {
    for (const o of page) objects.push({dest: o.key.slice(2), url: await bucket.presignGet(o.key, 600), facts: {size: o.size, ...classifyEtag(o.etag), checksums: {}}})
  }
  assert.equal(objects.length, names.length)
  // after the listing: one object deleted, one replaced by a longer body (its bytes would run into the next object's)
  const gone = 'images/s40.bin'
  const grown = 'images/s90.bin'
  await s3.send(new DeleteObjectCommand({Bucket: 'many', Key: `p/${gone}`}))
  await s3.send(new PutObjectCommand({Bucket: 'many', Key: `p/${grown}`, Body: Buffer.concat([bodies.get(grown)!, randomBytes(3000)])}))

  const name = stagePodName('batch')
  await createStagePod(t, buildPullPod({name, namespace: sb.namespace, table: 'batch', serviceAccount: 'ingestor', image: DEFAULT_STAGE_IMAGE, runId: 'batch'}))
  try {
    await waitPodReady(t, sb.namespace, name, {timeoutMs: 60_000})
    const events: PullEvent[] = []
    const r = await pullIntoPod(t, {namespace: sb.namespace, pod: name, destDir: '/data/shared/batch', verifiedDir: '/data/shared/batch/.v', objects, parallel: 3, onEvent: (e) => events.push(e)})
    const by = (i: number) => objects[i]!.dest
    assert.deepEqual(r.failed.map((f) => `${by(f.index)}:${f.reason}`).sort(), [`${gone}:missing`, `${grown}:mismatch`])
    const hostDir = path.join(sb.pvcDir, 'batch')
    const landed = new Map<string, string>()
    for (const i of r.done) {
      const d = by(i)
      const onDisk = fs.readFileSync(path.join(hostDir, d))
      assert.ok(onDisk.equals(bodies.get(d)!), `${d} byte for byte`)
      assert.equal(r.sha256.get(i), sha(onDisk), `${d}: the sha256 the pod reported is that of the bytes`)
      landed.set(d, sha(onDisk))
    }
    assert.equal(r.done.length, names.length - 2)
    assert.ok(!fs.existsSync(path.join(hostDir, gone)) && !fs.existsSync(path.join(hostDir, grown)), 'nothing of a failed object is left in place')
    assert.deepEqual(fs.readdirSync(hostDir, {recursive: true}).filter((f) => String(f).endsWith('.tbpart')), [], 'no partial files left')
    // what the swap accepts as verified: exactly the objects that landed, each with its sha256
    const recorded = new Map<string, string>()
    for (const f of fs.readdirSync(path.join(hostDir, '.v'))) {
      for (const line of fs.readFileSync(path.join(hostDir, '.v', f), 'utf8').split('\n').filter(Boolean)) recorded.set(line.slice(66), line.slice(0, 64))
    }
    assert.deepEqual([...recorded].sort(), [...landed].sort())
    assert.ok(events.filter((e) => e.type === 'done').every((e) => (e as {sha256?: string}).sha256), 'every done event carries a sha256')
  } finally {
    await deletePod(t, sb.namespace, name)
  }
})

test('the exec request that starts a pull stays short: the script travels on stdin, not in the URL', async (c) => {
  if (skip) return c.skip(skip)
  // proxies in front of API servers commonly refuse request lines over 8 KiB; the pull's URL must not grow with its script
  const pulls = fs.readFileSync(record, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as {path: string; query: Record<string, string | string[]>}).filter((r) => r.path.endsWith('/exec') && [r.query.command].flat().includes('tb-pull'))
  assert.ok(pulls.length > 0, 'the pull exec was recorded')
  for (const r of pulls) {
    const q = new URLSearchParams()
    for (const [k, v] of Object.entries(r.query)) for (const x of [v].flat()) q.append(k, x)
    assert.ok(`${r.path}?${q}`.length < 2048, `exec URL of ${`${r.path}?${q}`.length} characters`)
  }
})
