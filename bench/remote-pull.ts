// In-cluster pull rate (npm run bench:remote-pull): the same objects from the sandbox object store,
// (a) downloaded on the host by 4 parallel busybox wget processes (a plain parallel download, no checks)
// and (b) pulled by a stage pod on the store's pod network with 4 streams, each object verified
// (size + MD5/multipart ETag). Prints both rates and their ratio (one run). Needs Linux and root.
import {execFile} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import * as fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {promisify} from 'node:util'

import {CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, PutObjectCommand, S3Client, UploadPartCommand} from '@aws-sdk/client-s3'

import {loadClusterTarget} from '../src/lib/cluster/kube.js'
import {buildPullPod, pullIntoPod, type PullObject} from '../src/lib/remote/pod-pull.js'
import {openBucket} from '../src/lib/remote/s3.js'
import {parseSourceUrl, type RemoteSource} from '../src/lib/remote/url.js'
import {createStagePod, deletePod, DEFAULT_STAGE_IMAGE, stagePodName, waitPodReady} from '../src/lib/pvc/stage-pod.js'
import {startSandbox} from '../test/sandbox/index.js'
import {busyboxFor} from '../test/sandbox/kubelet/rootfs.js'

const MiB = 1024 * 1024
const sb = await startSandbox({objectStore: true})
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-remote-pull-'))
try {
  const st = sb.objectStore!
  if (!st.network) throw new Error('no pod network (needs Linux, root, iproute2)')
  Object.assign(process.env, {AWS_ACCESS_KEY_ID: st.accessKeyId, AWS_SECRET_ACCESS_KEY: st.secretAccessKey, AWS_REGION: st.region})
  const s3 = new S3Client({endpoint: st.httpUrl, region: st.region, forcePathStyle: true})
  await s3.send(new CreateBucketCommand({Bucket: 'bench'}))
  // 16 × 8 MiB single-part objects and one 64 MiB object in 8 MiB parts: 192 MiB
  for (let i = 0; i < 16; i++) await s3.send(new PutObjectCommand({Bucket: 'bench', Key: `d/f${i}.bin`, Body: randomBytes(8 * MiB)}))
  const {UploadId} = await s3.send(new CreateMultipartUploadCommand({Bucket: 'bench', Key: 'd/big.bin'}))
  const parts = []
  for (let i = 0; i < 8; i++) parts.push({PartNumber: i + 1, ETag: (await s3.send(new UploadPartCommand({Bucket: 'bench', Key: 'd/big.bin', UploadId, PartNumber: i + 1, Body: randomBytes(8 * MiB)}))).ETag})
  await s3.send(new CompleteMultipartUploadCommand({Bucket: 'bench', Key: 'd/big.bin', UploadId, MultipartUpload: {Parts: parts}}))

  const bucket = await openBucket(parseSourceUrl('s3://bench/d/') as Extract<RemoteSource, {kind: 's3'}>, {endpointUrl: st.httpUrl})
  const objects: PullObject[] = []
  for await (const page of bucket.list('d/')) {
    for (const o of page) {
      const facts = await bucket.head(o.key)
      objects.push({dest: o.key.slice(2), url: await bucket.presignGet(o.key, 3600), facts, partSize: facts.etagKind === 'multipart' ? 8 * MiB : undefined})
    }
  }
  const total = objects.reduce((s, o) => s + o.facts.size, 0)

  // (a) plain parallel download on the host: the same busybox, 4 processes, to files
  const bb = busyboxFor(DEFAULT_STAGE_IMAGE)
  const queue = [...objects]
  let t0 = performance.now()
  await Promise.all(Array.from({length: 4}, async (_, w) => {
    for (let o = queue.shift(); o; o = queue.shift()) await promisify(execFile)(bb, ['wget', '-q', '-O', path.join(tmp, `w${w}-${path.basename(o.dest)}`), o.url])
  }))
  const hostSec = (performance.now() - t0) / 1000

  // (b) the pod pull, 4 streams, verified
  const t = await loadClusterTarget({kubeconfig: sb.kubeconfigPath})
  const name = stagePodName('bench')
  await createStagePod(t, buildPullPod({name, namespace: sb.namespace, table: 'bench', serviceAccount: 'ingestor', image: DEFAULT_STAGE_IMAGE, runId: 'bench'}))
  let podSec: number
  try {
    await waitPodReady(t, sb.namespace, name, {timeoutMs: 60_000})
    t0 = performance.now()
    const r = await pullIntoPod(t, {namespace: sb.namespace, pod: name, destDir: '/data/shared/bench', objects, parallel: 4})
    podSec = (performance.now() - t0) / 1000
    if (r.failed.length) throw new Error(`pull failed: ${JSON.stringify(r.failed)}`)
  } finally {
    await deletePod(t, sb.namespace, name)
  }
  const rate = (s: number) => (total / MiB / s).toFixed(0)
  console.log(`objects: ${objects.length}, ${(total / MiB).toFixed(0)} MiB`)
  console.log(`host, 4 × busybox wget, no checks: ${hostSec.toFixed(2)} s (${rate(hostSec)} MiB/s)`)
  console.log(`pod pull, 4 streams, verified:     ${podSec.toFixed(2)} s (${rate(podSec)} MiB/s)`)
  console.log(`ratio pod / host: ${(hostSec / podSec).toFixed(2)}`)
} finally {
  await sb.stop()
  fs.rmSync(tmp, {recursive: true, force: true})
}
