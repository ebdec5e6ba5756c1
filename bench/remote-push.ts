// Remote push against download-then-push (npm run bench:remote-push [-- --scale F]): an image dataset
// in the sandbox object store (small images plus one large object, 1 GiB each at --scale 1), with the
// user's link modelled at 8 MiB/s.
// (a) `dataset push s3://…`: the CLI reads the CSV and image headers, the stage pod pulls the rest.
// (b) the user downloads the objects over their 8 MiB/s link, then `dataset push ./folder` uploads them
//     over the same link (the sandbox's shared exec uplink cap).
// Prints the bytes each way moved through the user's machine and the wall-time ratio (one run).
// Both pushes use --detach: the ingestion is the same for both and not what is compared.
import {randomBytes} from 'node:crypto'
import * as fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {parseArgs} from 'node:util'

import {CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, UploadPartCommand} from '@aws-sdk/client-s3'

import {startSandbox} from '../test/sandbox/index.js'
import {runCli} from './cli.js'
import {pngHeader} from '../test/helpers/png.js'

const MiB = 1024 * 1024
const LINK = 8 * MiB
// --remote-only: the remote push alone (for iterating on the pull; no ratio)
const {values} = parseArgs({options: {scale: {type: 'string', default: '0.125'}, 'remote-only': {type: 'boolean', default: false}}})
const scale = Number(values.scale)
const sb = await startSandbox({objectStore: true})
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-remote-push-'))

const cli = (args: string[], env: Record<string, string>) => runCli(args, tmp, env)

/** Reads a body at most `rate` bytes/s: the user's downlink. */
async function throttledDownload(body: AsyncIterable<Uint8Array>, file: string, rate: number): Promise<number> {
  const out = fs.createWriteStream(file)
  const t0 = performance.now()
  let n = 0
  for await (const chunk of body) {
    n += chunk.length
    out.write(chunk)
    const due = (n / rate) * 1000 - (performance.now() - t0)
    if (due > 0) await new Promise((r) => setTimeout(r, due))
  }
  await new Promise((r) => out.end(r))
  return n
}

try {
  const st = sb.objectStore!
  if (!st.network) throw new Error('no pod network (needs Linux, root, iproute2)')
  const env = {AWS_ACCESS_KEY_ID: st.accessKeyId, AWS_SECRET_ACCESS_KEY: st.secretAccessKey, AWS_REGION: st.region, AWS_ENDPOINT_URL: st.httpUrl, TRACEBLOC_STAGE_POD_TIMEOUT: '60'}
  const s3 = new S3Client({endpoint: st.httpUrl, region: st.region, forcePathStyle: true, credentials: {accessKeyId: st.accessKeyId, secretAccessKey: st.secretAccessKey}})
  await s3.send(new CreateBucketCommand({Bucket: 'bench'}))
  // small images: ~100 KiB PNGs (a header, then incompressible bytes) summing to 1 GiB × scale
  const count = Math.max(8, Math.round((1024 * scale * MiB) / (100 * 1024)))
  const rows = ['filename,label']
  for (let i = 0; i < count; i++) {
    await s3.send(new PutObjectCommand({Bucket: 'bench', Key: `ds/images/i${i}.png`, Body: Buffer.concat([pngHeader(64, 64), randomBytes(100 * 1024 - 33)])}))
    rows.push(`i${i}.png,${i % 2 ? 'cat' : 'dog'}`)
  }
  // one large object (1 GiB × scale), multipart in 8 MiB parts
  const bigParts = Math.max(1, Math.round((1024 * scale) / 8))
  const {UploadId} = await s3.send(new CreateMultipartUploadCommand({Bucket: 'bench', Key: 'ds/images/big.png'}))
  const parts = []
  for (let i = 0; i < bigParts; i++) parts.push({PartNumber: i + 1, ETag: (await s3.send(new UploadPartCommand({Bucket: 'bench', Key: 'ds/images/big.png', UploadId, PartNumber: i + 1, Body: i === 0 ? Buffer.concat([pngHeader(64, 64), randomBytes(8 * MiB - 33)]) : randomBytes(8 * MiB)}))).ETag})
  await s3.send(new CompleteMultipartUploadCommand({Bucket: 'bench', Key: 'ds/images/big.png', UploadId, MultipartUpload: {Parts: parts}}))
  rows.push('big.png,cat')
  await s3.send(new PutObjectCommand({Bucket: 'bench', Key: 'ds/labels.csv', Body: rows.join('\n') + '\n'}))

  // the user's machine sits behind one 8 MiB/s uplink (all exec streams share it)
  sb.faults.set({uplinkBytesPerSecond: LINK})
  const common = ['--category', 'image_classification', '--kubeconfig', sb.kubeconfigPath, '--json', '--detach']

  let t0 = performance.now()
  const a = await cli(['dataset', 'push', 's3://bench/ds/', '--table', 'bench_remote', ...common], env)
  const remoteSec = (performance.now() - t0) / 1000
  if (a.code !== 0) throw new Error(`remote push failed: ${a.json?.error ?? a.stderr}`)
  const total = a.json.bytes as number
  console.log(`dataset: ${count} small images + one ${bigParts * 8} MiB object = ${(total / MiB).toFixed(0)} MiB; user's link ${LINK / MiB} MiB/s`)
  console.log(`remote push (s3://):         ${remoteSec.toFixed(1)} s (validate ${(a.json.timings.validate_ms / 1000).toFixed(1)} s, connect ${(a.json.timings.connect_ms / 1000).toFixed(1)} s, pull ${(a.json.timings.stage_ms / 1000).toFixed(1)} s); through this machine ${(a.json.bytes_read_here / 1024).toFixed(0)} KiB = ${((100 * a.json.bytes_read_here) / total).toFixed(3)} % of the dataset (CSV ${(rows.join('\n').length / 1024).toFixed(0)} KiB)`)

  if (!values['remote-only']) {
    t0 = performance.now()
    const dir = path.join(tmp, 'ds')
    let downloaded = 0
    const keys: string[] = []
    let token: string | undefined
    do {
      const page = await s3.send(new ListObjectsV2Command({Bucket: 'bench', Prefix: 'ds/', ContinuationToken: token}))
      for (const o of page.Contents ?? []) keys.push(o.Key!)
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token)
    for (const key of keys) {
      const file = path.join(dir, key.slice(3))
      fs.mkdirSync(path.dirname(file), {recursive: true})
      const r = await s3.send(new GetObjectCommand({Bucket: 'bench', Key: key}))
      downloaded += await throttledDownload(r.Body as AsyncIterable<Uint8Array>, file, LINK)
    }
    const downSec = (performance.now() - t0) / 1000
    console.log(`download over the modelled link: ${downSec.toFixed(1)} s`)
    const b = await cli(['dataset', 'push', dir, '--table', 'bench_local', ...common], env)
    const localSec = (performance.now() - t0) / 1000
    if (b.code !== 0) throw new Error(`local push failed: ${b.json?.error ?? b.stderr}`)
    console.log(`download then local push:    ${localSec.toFixed(1)} s (download ${downSec.toFixed(1)} s, push ${(localSec - downSec).toFixed(1)} s); through this machine ${((downloaded + b.json.staged.sent_bytes) / MiB).toFixed(0)} MiB`)
    console.log(`ratio (download+push) / remote: ${(localSec / remoteSec).toFixed(1)}×`)
  }
} finally {
  await sb.stop()
  fs.rmSync(tmp, {recursive: true, force: true})
}
