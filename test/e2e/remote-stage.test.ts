// Staging a remote dataset against the sandbox store: an interrupted pull resumes (verified files stay,
// only the rest is pulled), a re-push of unchanged objects pulls nothing, a changed object alone is
// pulled again, expired presigned URLs are signed again, and the staged copy has the manifest a local
// push writes.
import assert from 'node:assert/strict'
import {createHash, randomBytes} from 'node:crypto'
import * as fs from 'node:fs'
import path from 'node:path'
import {after, afterEach, before, test} from 'node:test'

import {CreateBucketCommand, PutObjectCommand, S3Client} from '@aws-sdk/client-s3'

import {loadClusterTarget, type ClusterTarget} from '../../src/lib/cluster/kube.js'
import {openRemoteDataset, type RemoteDataset, type RemoteObject} from '../../src/lib/remote/plan.js'
import {buildPullPod} from '../../src/lib/remote/pod-pull.js'
import {SOURCE_NAME, stageRemote} from '../../src/lib/remote/stage.js'
import {parseSourceUrl} from '../../src/lib/remote/url.js'
import {createStagePod, DEFAULT_STAGE_IMAGE, deletePod, stagePodName, waitPodReady} from '../../src/lib/pvc/stage-pod.js'
import {stagingPaths} from '../../src/lib/pvc/paths.js'
import {startSandbox, type Sandbox} from '../sandbox/index.js'

let sb: Sandbox
let t: ClusterTarget
let s3: S3Client
let skip: string | false = false
let n = 0
const files: Record<string, Buffer> = {'labels.csv': Buffer.from('filename,label\na.png,x\n'), 'images/a.png': randomBytes(200 * 1024), 'images/b.png': randomBytes(90 * 1024), 'images/c.png': randomBytes(40 * 1024)}
const saved: Record<string, string | undefined> = {}

before(async () => {
  sb = await startSandbox({objectStore: true})
  const store = sb.objectStore!
  if (!store.network) skip = 'no pod network here (needs Linux, root and iproute2)'
  for (const [k, v] of Object.entries({AWS_ACCESS_KEY_ID: store.accessKeyId, AWS_SECRET_ACCESS_KEY: store.secretAccessKey, AWS_REGION: store.region, AWS_ENDPOINT_URL: store.httpUrl})) {
    saved[k] = process.env[k]
    process.env[k] = v
  }
  t = await loadClusterTarget({kubeconfig: sb.kubeconfigPath})
  s3 = new S3Client({endpoint: store.httpUrl, region: store.region, forcePathStyle: true, credentials: {accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey}})
  await s3.send(new CreateBucketCommand({Bucket: 'acme-ml'}))
  for (const [k, body] of Object.entries(files)) await s3.send(new PutObjectCommand({Bucket: 'acme-ml', Key: `ds/${k}`, Body: body}))
})
after(async () => {
  for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]
  else process.env[k] = v
  await sb?.stop()
})
afterEach(() => sb.faults.clear())

async function listing(): Promise<{ds: RemoteDataset; objects: RemoteObject[]}> {
  const ds = await openRemoteDataset(parseSourceUrl('s3://acme-ml/ds/'), {})
  fs.rmSync(ds.skeleton, {recursive: true, force: true})
  const objects = [...ds.listed].map(([rel, o]) => ({stagedPath: rel, key: o.key, size: o.size, etag: o.etag}))
  return {ds, objects}
}

/** One staging run in a fresh pull pod (deleted afterwards, as the push deletes it). */
async function stage(extra: Partial<Parameters<typeof stageRemote>[0]> = {}) {
  const {ds, objects} = await listing()
  const name = stagePodName(`rs${++n}`)
  await createStagePod(t, buildPullPod({name, namespace: sb.namespace, table: 'remote_t', serviceAccount: 'ingestor', image: DEFAULT_STAGE_IMAGE, runId: `r${n}`}))
  try {
    await waitPodReady(t, sb.namespace, name, {timeoutMs: 60_000})
    return await stageRemote({t, namespace: sb.namespace, pod: name, table: 'remote_t', paths: stagingPaths('remote_t'), ds, objects, parallel: 2, ...extra})
  } finally {
    await deletePod(t, sb.namespace, name)
  }
}

const destDir = () => path.join(sb.pvcDir, '.tracebloc-staging', 'remote_t')
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

test('a failed pull resumes from the verified files; a re-push of unchanged objects pulls nothing; a changed one alone is pulled', async (c) => {
  if (skip) return c.skip(skip)
  // a.png comes back corrupt every time: the run fails, the other files stay verified in the work dir
  sb.faults.set({objectStore: {corruptBody: {times: 10, keyIncludes: 'a.png'}}})
  await assert.rejects(stage(), (e: Error & {reason?: string}) => e.reason === 'verify_failed' && /did not match what the store promised/.test(e.message))
  assert.ok(!fs.existsSync(destDir()), 'nothing swapped in')
  sb.faults.clear()

  const second = await stage()
  assert.equal(second.swapped, true)
  assert.equal(second.resumedFiles, 3, 'labels.csv, b.png, c.png kept from the failed run')
  assert.equal(second.pulledFiles, 1)
  // the staged copy a local push would write: files, and the sha256 manifest
  const manifest = fs.readFileSync(path.join(destDir(), '.tracebloc-manifest'), 'utf8')
  for (const [k, body] of Object.entries(files)) {
    assert.ok(fs.readFileSync(path.join(destDir(), k)).equals(body), k)
    assert.ok(manifest.includes(`${sha(body)}  ${k}\n`), `manifest line of ${k}`)
  }
  assert.ok(fs.existsSync(path.join(destDir(), SOURCE_NAME)))

  const third = await stage()
  assert.equal(third.swapped, false, 'nothing changed: no pull, no swap')
  assert.equal(third.pulledFiles, 0)

  const changed = randomBytes(50 * 1024)
  await s3.send(new PutObjectCommand({Bucket: 'acme-ml', Key: 'ds/images/c.png', Body: changed}))
  const fourth = await stage()
  assert.equal(fourth.pulledFiles, 1)
  assert.equal(fourth.skippedFiles, 3)
  assert.ok(fs.readFileSync(path.join(destDir(), 'images/c.png')).equals(changed))
  files['images/c.png'] = changed
})

test('presigned URLs that expired before the pod reached them are signed again', async (c) => {
  if (skip) return c.skip(skip)
  fs.rmSync(destDir(), {recursive: true, force: true})
  // the store's clock runs ahead by more than the URLs' lifetime: the first URLs are refused (403)
  sb.faults.set({objectStore: {clockSkewSeconds: 120}})
  let resigned = false
  const r = await stage({
    expiresSeconds: 60,
    onNote: (l) => {
      if (/signing them again/.test(l)) {
        resigned = true
        sb.faults.clear()
      }
    },
  })
  assert.ok(resigned)
  assert.ok(r.resigned > 0)
  assert.equal(r.swapped, true)
  for (const [k, body] of Object.entries(files)) assert.ok(fs.readFileSync(path.join(destDir(), k)).equals(body), k)
})
