// `dataset push s3://…|https://…` end to end: the built CLI against the sandbox cluster and its object
// store. The CLI lists the prefix and reads the CSV and image headers only; a stage pod on the store's
// pod network pulls the objects into client-pvc, and the ingestor reads them as after a local push.
// Bad input ends with one line, the documented exit code and nothing left behind.
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import path from 'node:path'
import {after, before, test} from 'node:test'

import {CreateBucketCommand, PutObjectCommand, S3Client} from '@aws-sdk/client-s3'

import {startSandbox, type Sandbox} from '../sandbox/index.js'
import {CATS_DOGS, runCli, SAMPLES} from './push-cli.js'

let sb: Sandbox
let s3: S3Client
let skip: string | false = false
let env: Record<string, string>
const pods = {group: '', version: 'v1', resource: 'pods'}
const HOUSES = path.join(SAMPLES, 'tabular_regression/tabular_regression_sample_in_csv_format.csv')

async function put(key: string, body: Buffer | string) {
  await s3.send(new PutObjectCommand({Bucket: 'acme-ml', Key: key, Body: body}))
}

before(async () => {
  sb = await startSandbox({objectStore: true})
  const store = sb.objectStore!
  if (!store.network) skip = 'no pod network here (needs Linux, root and iproute2)'
  // the store as the user's machine reaches it; by address over HTTP, pods reach it the same way
  env = {AWS_ACCESS_KEY_ID: store.accessKeyId, AWS_SECRET_ACCESS_KEY: store.secretAccessKey, AWS_REGION: store.region, AWS_ENDPOINT_URL: store.httpUrl, TRACEBLOC_STAGE_POD_TIMEOUT: '30', TRACEBLOC_POD_START_TIMEOUT: '30'}
  s3 = new S3Client({endpoint: store.httpUrl, region: store.region, forcePathStyle: true, credentials: {accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey}})
  await s3.send(new CreateBucketCommand({Bucket: 'acme-ml'}))
  await put('cats-dogs/labels_file_sample.csv', fs.readFileSync(path.join(CATS_DOGS, 'labels_file_sample.csv')))
  for (const f of fs.readdirSync(path.join(CATS_DOGS, 'images'))) await put(`cats-dogs/images/${f}`, fs.readFileSync(path.join(CATS_DOGS, 'images', f)))
  // a CSV naming an image that is not in the store
  const csv = fs.readFileSync(path.join(CATS_DOGS, 'labels_file_sample.csv'), 'utf8')
  await put('broken/labels_file_sample.csv', csv)
  for (const f of fs.readdirSync(path.join(CATS_DOGS, 'images')).filter((f) => f !== 'dog3.jpeg')) await put(`broken/images/${f}`, fs.readFileSync(path.join(CATS_DOGS, 'images', f)))
  await put('houses/houses.csv', fs.readFileSync(HOUSES))
  fs.copyFileSync(HOUSES, path.join(store.staticDir, 'houses.csv'))
})
after(async () => {
  await sb?.stop()
})

function push(source: string, table: string, extra: string[] = [], more: Record<string, string> = {}) {
  return runCli(['dataset', 'push', source, '--table', table, '--kubeconfig', sb.kubeconfigPath, '--json', ...extra], {env: {...env, ...more}})
}

const stagePods = () => sb.store.list(pods, {namespace: sb.namespace, labelSelector: 'tracebloc.io/component=stage-pod'}).items
const staging = () => {
  const dir = path.join(sb.pvcDir, '.tracebloc-staging')
  return fs.existsSync(dir) ? fs.readdirSync(dir) : []
}

test('s3:// image dataset: pulled in the cluster, ingested, only the CSV and image headers read here', async (c) => {
  if (skip) return c.skip(skip)
  const r = await push('s3://acme-ml/cats-dogs/', 'cats_dogs_s3', ['--category', 'image_classification'])
  assert.equal(r.code, 0, r.stderr + r.stdout)
  assert.equal(r.json.status, 'succeeded')
  assert.equal(r.json.summary.inserted_records, 576)
  assert.equal(r.json.source, 's3://acme-ml/cats-dogs/')
  assert.equal(r.json.files, 7)
  assert.equal(r.json.staged.sent_files, 7)
  assert.equal(r.json.staged.wire_bytes, 0, 'no dataset byte went through this machine on the exec streams')
  assert.ok(fs.readdirSync(path.join(sb.pvcDir, 'cats_dogs_s3')).includes('cat1.jpeg'))
  assert.equal(stagePods().length, 0)
  assert.deepEqual(staging().filter((e) => e.startsWith('cats_dogs_s3')), [])
  assert.doesNotMatch(r.stdout + r.stderr, /X-Amz-Signature|X-Amz-Credential/)
  // `dataset runs` names where the data came from
  const runs = await runCli(['dataset', 'runs', '--kubeconfig', sb.kubeconfigPath, '-n', sb.namespace, '--json'], {env})
  const row = runs.json.runs.find((x: {key: string}) => x.key === r.json.idempotency_key)
  assert.equal(row?.dataset_source, 's3://acme-ml/cats-dogs/', runs.stdout)
  const show = await runCli(['dataset', 'show', 'cats_dogs_s3', '--kubeconfig', sb.kubeconfigPath, '-n', sb.namespace, '--json'], {env})
  assert.equal(show.json?.source, 's3://acme-ml/cats-dogs/', show.stdout + show.stderr)
})

test('gs:// through the S3-compatible API with HMAC keys: validated and planned like s3://', async (c) => {
  if (skip) return c.skip(skip)
  const st = sb.objectStore!
  const gs = {GCS_HMAC_ACCESS_KEY_ID: st.accessKeyId, GCS_HMAC_SECRET_ACCESS_KEY: st.secretAccessKey, GCS_ENDPOINT_URL: st.httpUrl, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: ''}
  const r = await push('gs://acme-ml/cats-dogs/', 'cats_gs', ['--category', 'image_classification'], gs)
  assert.equal(r.code, 0, r.stderr + r.stdout)
  assert.equal(r.json.source, 'gs://acme-ml/cats-dogs/')
  assert.equal(r.json.summary.inserted_records, 576)
})

test('--dry-run: the plan names the source and which checks ran on every object and on a sample; nothing written', async (c) => {
  if (skip) return c.skip(skip)
  const r = await runCli(['dataset', 'push', 's3://acme-ml/cats-dogs/', '--table', 'cats_dry', '--category', 'image_classification', '--kubeconfig', sb.kubeconfigPath, '--dry-run'], {env})
  assert.equal(r.code, 0, r.stderr + r.stdout)
  assert.match(r.stdout, /source +s3:\/\/acme-ml\/cats-dogs\//)
  assert.match(r.stdout, /checked +every object: listed in the store, named in the CSV/)
  assert.match(r.stdout, /sampled +image header \(type, resolution\): 6 of 6 images/)
  assert.equal(stagePods().length, 0)
  assert.deepEqual(staging().filter((e) => e.startsWith('cats_dry')), [])
})

test('https:// CSV and s3:// single CSV: tabular pushes ingest every row', async (c) => {
  if (skip) return c.skip(skip)
  const a = await push('s3://acme-ml/houses/houses.csv', 'houses_s3', ['--category', 'tabular_regression', '--label-column', 'price'])
  assert.equal(a.code, 0, a.stderr + a.stdout)
  assert.equal(a.json.summary.inserted_records, 8)
  assert.equal(a.json.source, 's3://acme-ml/houses/houses.csv')
  // https: this machine reaches the server by address, the pod by name (busybox wget checks the name);
  // both trust the store's CA from --ca-bundle. The query string is never shown.
  const caFile = path.join(path.dirname(sb.kubeconfigPath), 'object-store-ca.pem')
  const b = await push(`${sb.objectStore!.staticUrl}/houses.csv?token=s3cr3t-value`, 'houses_https', ['--category', 'tabular_regression', '--label-column', 'price', '--ca-bundle', caFile, '--cluster-endpoint-url', sb.objectStore!.podStaticUrl!])
  assert.equal(b.code, 0, b.stderr + b.stdout)
  assert.equal(b.json.summary.inserted_records, 8)
  assert.equal(b.json.source, `${sb.objectStore!.staticUrl}/houses.csv`)
  assert.doesNotMatch(b.stdout + b.stderr, /s3cr3t-value/)
})

test('a pod that cannot reach the store: one line naming the cause and the fix, before any transfer, nothing left', async (c) => {
  if (skip) return c.skip(skip)
  sb.faults.set({objectStore: {noPodEgress: true}})
  try {
    const r = await push('s3://acme-ml/cats-dogs/', 'cats_noegress', ['--category', 'image_classification'])
    assert.equal(r.code, 7, r.stderr + r.stdout)
    assert.equal(r.json.reason, 'store_unreachable')
    assert.match(r.json.error, /the stage pod cannot reach the store/)
    assert.match(r.json.hint, /tracebloc\.io\/egress=object-store/)
    assert.equal(stagePods().length, 0)
  } finally {
    sb.faults.clear()
  }
})

test('bad input: one line, the documented exit code, nothing left behind', async (c) => {
  if (skip) return c.skip(skip)
  const cases: Array<[string, string[], Record<string, string>, number, RegExp]> = [
    ['ftp://acme-ml/x/', [], {}, 2, /unsupported source scheme "ftp:\/\/"/],
    ['s3://no-such-bucket/x/', [], {}, 2, /does not exist/],
    ['s3://acme-ml/nothing-here/', [], {}, 2, /nothing under s3:\/\/acme-ml\/nothing-here\/: the prefix is empty or does not exist/],
    ['s3://acme-ml/broken/', [], {}, 3, /reference images that are not in images\/: "dog3\.jpeg"/],
    ['s3://acme-ml/cats-dogs/', [], {AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: 'tb-none', AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent'}, 5, /credentials/i],
    ['s3://acme-ml/cats-dogs/', [], {AWS_SECRET_ACCESS_KEY: 'not-the-secret'}, 5, /credentials|signature|denied/i],
    ['https://example.invalid/data.rar', [], {}, 2, /an https:\/\/ source must be a \.csv file or an archive/],
  ]
  for (const [src, extra, more, code, msg] of cases) {
    const r = await push(src, 'bad_input', ['--category', 'image_classification', ...extra], more)
    assert.equal(r.code, code, `${src}: ${r.stderr}${r.stdout}`)
    assert.match(r.json.error, msg, src)
    assert.doesNotMatch(r.json.error, /tracebloc-remote-/, 'no temporary path in the message')
  }
  assert.equal(stagePods().length, 0)
  assert.deepEqual(staging().filter((e) => e.startsWith('bad_input')), [])
})

test('access denied names the IAM action; a wrong region names the right one; exit codes 5 and 2, nothing left', async (c) => {
  if (skip) return c.skip(skip)
  const cases: Array<[Record<string, unknown>, number, string, RegExp, RegExp]> = [
    [{denyActions: ['s3:ListBucket']}, 5, 'access_denied', /^access denied: s3:ListBucket on s3:\/\/acme-ml/, /grant s3:ListBucket/],
    [{denyActions: ['s3:GetObject']}, 5, 'access_denied', /^access denied: s3:GetObject on s3:\/\/acme-ml\/cats-dogs\/labels_file_sample\.csv$/, /grant s3:GetObject/],
    [{bucketRegion: 'eu-west-1'}, 2, 'wrong_region', /^s3:\/\/acme-ml is in region eu-west-1, not us-east-1$/, /AWS_REGION=eu-west-1/],
  ]
  try {
    for (const [fault, code, reason, msg, hint] of cases) {
      sb.faults.set({objectStore: fault})
      const r = await push('s3://acme-ml/cats-dogs/', 'denied', ['--category', 'image_classification'])
      assert.equal(r.code, code, `${JSON.stringify(fault)}: ${r.stderr}${r.stdout}`)
      assert.equal(r.json.reason, reason, r.json.error)
      assert.match(r.json.error, msg)
      assert.match(r.json.hint, hint)
    }
  } finally {
    sb.faults.clear()
  }
  assert.equal(stagePods().length, 0)
  assert.deepEqual(staging().filter((e) => e.startsWith('denied')), [])
})

test('Ctrl-C during the pull: exit 130, no stage pod or lock left, verified objects kept; the next push completes', async (c) => {
  if (skip) return c.skip(skip)
  // once the stage pod exists (the CLI's own reads are done), dog3.jpeg is answered 503 SlowDown: the pull backs off for seconds
  let armed = false
  const arm = () => {
    if (!armed && stagePods().length > 0) {
      sb.faults.set({objectStore: {slowDown: {count: 4, retryAfterSeconds: 1, keyIncludes: 'dog3'}}})
      armed = true
    }
    return armed
  }
  const work = path.join(sb.pvcDir, '.tracebloc-staging', 'cats_sigint.staging-resume')
  const r = await runCli(['dataset', 'push', 's3://acme-ml/cats-dogs/', '--table', 'cats_sigint', '--category', 'image_classification', '--kubeconfig', sb.kubeconfigPath, '--json'], {
    env,
    interrupt: {signal: 'SIGINT', when: () => arm() && fs.existsSync(path.join(work, 'images', 'cat1.jpeg'))},
  })
  sb.faults.clear()
  assert.equal(r.code, 130, r.stderr + r.stdout)
  assert.equal(r.json.status, 'interrupted')
  assert.equal(stagePods().length, 0)
  assert.ok(!fs.existsSync(path.join(sb.pvcDir, '.tracebloc-staging', '.cats_sigint.lock')), 'lock released')
  assert.ok(fs.existsSync(path.join(work, 'images', 'cat1.jpeg')), 'verified objects stay for the next run')
  const again = await push('s3://acme-ml/cats-dogs/', 'cats_sigint', ['--category', 'image_classification'])
  assert.equal(again.code, 0, again.stderr + again.stdout)
  assert.equal(again.json.summary.inserted_records, 576)
  assert.ok(again.json.staged.sent_files < 7, `resumed: pulled ${again.json.staged.sent_files} of 7`)
})
