// Remote sources: URL parsing, redaction of presigned URLs, ETag classes, the pull job format, and the
// S3 client (credentials chain, endpoint rules, presigning, failures) against the sandbox object store
// (a real SigV4-checking server, not recorded signatures).
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import * as fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, before, test} from 'node:test'

import {CliError, ExitCode} from '../../src/lib/output/errors.js'
import {redact} from '../../src/lib/output/redact.js'
import {classifyEtag, checksumHex} from '../../src/lib/remote/facts.js'
import {pullJob, parsePullLine} from '../../src/lib/remote/pod-pull.js'
import {httpsFacts, httpsGetRange} from '../../src/lib/remote/https.js'
import {envEndpoint, openBucket} from '../../src/lib/remote/s3.js'
import {isRemoteSource, parseSourceUrl, type RemoteSource} from '../../src/lib/remote/url.js'
import {Faults} from '../sandbox/faults.js'
import {startObjectStore, type ObjectStore} from '../sandbox/object-store/index.js'

type BucketSource = Extract<RemoteSource, {kind: 's3' | 'gs'}>
const cliError = (reason: string, exitCode: number) => (e: unknown) => {
  assert.ok(e instanceof CliError, String(e))
  assert.equal(e.reason, reason, e.message)
  assert.equal(e.exitCode, exitCode)
  assert.doesNotMatch(e.message, /\n/)
  return true
}

test('source URLs: s3, gs, https parsed; bad ones are clear BAD_INPUT errors', () => {
  assert.deepEqual(parseSourceUrl('s3://acme-ml/cats-dogs/'), {kind: 's3', bucket: 'acme-ml', key: 'cats-dogs/', display: 's3://acme-ml/cats-dogs/'})
  assert.deepEqual(parseSourceUrl('s3://acme-ml'), {kind: 's3', bucket: 'acme-ml', key: '', display: 's3://acme-ml/'})
  assert.deepEqual(parseSourceUrl('gs://acme_ml/reviews/x.csv'), {kind: 'gs', bucket: 'acme_ml', key: 'reviews/x.csv', display: 'gs://acme_ml/reviews/x.csv'})
  const h = parseSourceUrl('https://data.example.com/cats-dogs.tar.gz?X-Amz-Signature=abcdef0123456789')
  assert.equal(h.kind, 'https')
  assert.equal(h.display, 'https://data.example.com/cats-dogs.tar.gz')
  assert.equal(redact(`got ${h.kind === 'https' ? h.url : ''}`), 'got https://data.example.com/cats-dogs.tar.gz?[REDACTED]')
  for (const [arg, re] of [
    ['ftp://host/file', /unsupported source scheme "ftp:\/\/"/],
    ['http://host/file.csv', /http:\/\/ sources are not supported/],
    ['s3://', /has no bucket/],
    ['s3://Bad_Bucket/x', /not a valid S3 bucket name/],
    ['s3://a..b/x', /not a valid S3 bucket name/],
    ['https://user:pw@host/x', /user name or password/],
  ] as const) assert.throws(() => parseSourceUrl(arg), (e) => cliError('bad_source_url', ExitCode.BAD_INPUT)(e) && re.test((e as Error).message), arg)
  assert.equal(isRemoteSource('s3://b/k'), true)
  assert.equal(isRemoteSource('C:\\data\\x'), false)
  assert.equal(isRemoteSource('C://data'), false)
  assert.equal(isRemoteSource('./data'), false)
})

test('redact: presigned query strings and lone signing parameters, in linear time', () => {
  const url = 'https://s3.eu-west-1.amazonaws.com/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20261207&X-Amz-Signature=0123abcd&x-id=GetObject'
  assert.equal(redact(`wget ${url} failed`), 'wget https://s3.eu-west-1.amazonaws.com/b/k?[REDACTED] failed')
  assert.equal(redact('"X-Goog-Signature=deadbeefcafe"'), '"X-Goog-Signature=[REDACTED]"')
  assert.equal(redact('a plain ?query=1 stays'), 'a plain ?query=1 stays')
  const hostile = `${'?'.repeat(200_000)}X-Amz-Signature`
  const t0 = process.hrtime.bigint()
  redact(hostile)
  assert.ok(process.hrtime.bigint() - t0 < 5_000_000_000n, 'redact is linear') // a hang guard, not a speed goal
})

test('ETag classes and checksum conversion', () => {
  assert.deepEqual(classifyEtag('"5d41402abc4b2a76b9719d911017c592"'), {etag: '5d41402abc4b2a76b9719d911017c592', etagKind: 'md5', md5: '5d41402abc4b2a76b9719d911017c592'})
  assert.deepEqual(classifyEtag('"cf44e996d3be2fbe8d6c5ef3e5a7e25e-64"'), {etag: 'cf44e996d3be2fbe8d6c5ef3e5a7e25e-64', etagKind: 'multipart', parts: 64})
  assert.equal(classifyEtag('"5d41402abc4b2a76b9719d911017c592"', {sse: 'aws:kms'}).etagKind, 'opaque')
  assert.equal(classifyEtag('"5d41402abc4b2a76b9719d911017c592"', {sse: 'AES256'}).etagKind, 'md5')
  assert.equal(classifyEtag('"abc"').etagKind, 'opaque')
  assert.equal(checksumHex('LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ='), '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824')
  assert.equal(checksumHex('abc-3'), undefined)
})

test('pull job: tab-separated, CA as base64, unsafe destinations refused', () => {
  const facts = {size: 5, etag: '5d41402abc4b2a76b9719d911017c592', etagKind: 'md5' as const, md5: '5d41402abc4b2a76b9719d911017c592', checksums: {}}
  const job = pullJob([{dest: 'images/a b.png', url: 'https://h/k?X-Amz-Signature=1', facts}], '-----BEGIN CERTIFICATE-----\n')
  const [ca, obj] = job.trim().split('\n')
  assert.equal(ca, `ca\t${Buffer.from('-----BEGIN CERTIFICATE-----\n').toString('base64')}`)
  assert.deepEqual(obj.split('\t'), ['obj', '0', '5', '-', facts.md5, '-', '-', 'images/a b.png', 'https://h/k?X-Amz-Signature=1'])
  for (const dest of ['../x', '/etc/passwd', 'a//b', 'a/./b', 'a\tb', '']) assert.throws(() => pullJob([{dest, url: 'https://h/k', facts}]), cliError('unsafe_path', ExitCode.BAD_INPUT), dest)
  assert.deepEqual(parsePullLine('done 3 1024'), {type: 'done', index: 3, bytes: 1024})
  // the sha256 the pod computed while verifying; '-' (or anything but 64 hex digits) means none
  assert.deepEqual(parsePullLine(`done 3 1024 ${'ab'.repeat(32)}`), {type: 'done', index: 3, bytes: 1024, sha256: 'ab'.repeat(32)})
  assert.deepEqual(parsePullLine('done 3 1024 -'), {type: 'done', index: 3, bytes: 1024})
  assert.deepEqual(parsePullLine(`done 3 1024 ${'AB'.repeat(32)}`), {type: 'done', index: 3, bytes: 1024})
  assert.deepEqual(parsePullLine('fail 1 http-403'), {type: 'fail', index: 1, reason: 'http-403'})
  assert.equal(parsePullLine('wget: noise'), undefined)
})

test('endpoint rules: AWS_ENDPOINT_URL_S3 over AWS_ENDPOINT_URL; AWS_IGNORE_CONFIGURED_ENDPOINT_URLS turns both off', () => {
  assert.equal(envEndpoint({AWS_ENDPOINT_URL: 'https://a', AWS_ENDPOINT_URL_S3: 'https://b'}), 'https://b')
  assert.equal(envEndpoint({AWS_ENDPOINT_URL: 'https://a'}), 'https://a')
  assert.equal(envEndpoint({AWS_ENDPOINT_URL: 'https://a', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true'}), undefined)
})

// ---- against the sandbox object store

let store: ObjectStore
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tb-remote-unit-'))
const AWS_VARS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE', 'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_EC2_METADATA_DISABLED', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_S3', 'AWS_CA_BUNDLE', 'GCS_HMAC_ACCESS_KEY_ID', 'GCS_HMAC_SECRET_ACCESS_KEY', 'GCS_ENDPOINT_URL', 'GOOGLE_APPLICATION_CREDENTIALS']
const saved = Object.fromEntries(AWS_VARS.map((k) => [k, process.env[k]]))
/** Only these AWS settings, and no shared files or instance metadata to fall back on. */
function env(vars: Record<string, string>): void {
  for (const k of AWS_VARS) delete process.env[k]
  fs.writeFileSync(path.join(dir, 'empty'), '')
  Object.assign(process.env, {AWS_CONFIG_FILE: path.join(dir, 'empty'), AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'empty'), AWS_EC2_METADATA_DISABLED: 'true'}, vars)
}
const s3src = parseSourceUrl('s3://unit-data/') as BucketSource

before(async () => {
  store = await startObjectStore({faults: new Faults(), dir, podNetwork: false})
  fs.writeFileSync(path.join(dir, 'ca.pem'), store.caPem)
  env({AWS_ACCESS_KEY_ID: store.accessKeyId, AWS_SECRET_ACCESS_KEY: store.secretAccessKey, AWS_REGION: store.region})
  const {S3Client, CreateBucketCommand, PutObjectCommand} = await import('@aws-sdk/client-s3')
  const c = new S3Client({endpoint: store.httpUrl, forcePathStyle: true})
  await c.send(new CreateBucketCommand({Bucket: 'unit-data'}))
  for (let i = 0; i < 5; i++) await c.send(new PutObjectCommand({Bucket: 'unit-data', Key: `p/f${i}.txt`, Body: `file ${i}\n`, ChecksumAlgorithm: 'SHA256'}))
})
after(async () => {
  for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]
  else process.env[k] = v
  await store?.stop()
  fs.rmSync(dir, {recursive: true, force: true})
})

test('env credentials + AWS_ENDPOINT_URL + AWS_CA_BUNDLE: list pages, head facts, ranged and small GETs', async () => {
  env({AWS_ACCESS_KEY_ID: store.accessKeyId, AWS_SECRET_ACCESS_KEY: store.secretAccessKey, AWS_REGION: store.region, AWS_ENDPOINT_URL: store.httpsUrl, AWS_CA_BUNDLE: path.join(dir, 'ca.pem')})
  const b = await openBucket(s3src)
  assert.equal(b.endpoint, store.httpsUrl)
  const pages: string[][] = []
  for await (const page of b.list('p/', {pageSize: 2})) pages.push(page.map((o) => o.key))
  assert.deepEqual(pages, [['p/f0.txt', 'p/f1.txt'], ['p/f2.txt', 'p/f3.txt'], ['p/f4.txt']])
  const h = await b.head('p/f1.txt')
  assert.equal(h.size, 7)
  assert.equal(h.etagKind, 'md5')
  assert.equal(h.md5, createHash('md5').update('file 1\n').digest('hex'))
  assert.equal(h.checksums.sha256, createHash('sha256').update('file 1\n').digest('hex'))
  assert.equal((await b.getRange('p/f1.txt', 0, 3)).toString(), 'file')
  assert.equal((await b.getSmall('p/f1.txt', 100)).toString(), 'file 1\n')
  await assert.rejects(b.getSmall('p/f1.txt', 3), cliError('object_too_large', ExitCode.BAD_INPUT))
})

test('presigned GET: works for its key until it expires; registered as a secret', async () => {
  env({AWS_ACCESS_KEY_ID: store.accessKeyId, AWS_SECRET_ACCESS_KEY: store.secretAccessKey, AWS_REGION: store.region})
  const b = await openBucket(s3src, {endpointUrl: store.httpUrl})
  const url = await b.presignGet('p/f2.txt', 1)
  assert.equal(redact(`x ${url} y`), 'x [REDACTED] y')
  const ok = await fetch(url)
  assert.equal(ok.status, 200)
  assert.equal(await ok.text(), 'file 2\n')
  await new Promise((r) => setTimeout(r, 2100))
  assert.equal((await fetch(url)).status, 403)
  await assert.rejects(b.presignGet('p/f2.txt', 604801), RangeError)
})

test('AWS_PROFILE from a shared credentials file (the standard chain)', async () => {
  env({})
  const creds = path.join(dir, 'credentials')
  fs.writeFileSync(creds, `[sandbox]\naws_access_key_id = ${store.accessKeyId}\naws_secret_access_key = ${store.secretAccessKey}\n`)
  const cfg = path.join(dir, 'config')
  fs.writeFileSync(cfg, `[profile sandbox]\nregion = ${store.region}\n`)
  Object.assign(process.env, {AWS_PROFILE: 'sandbox', AWS_SHARED_CREDENTIALS_FILE: creds, AWS_CONFIG_FILE: cfg})
  const b = await openBucket(s3src, {endpointUrl: store.httpUrl})
  assert.equal(b.region, store.region)
  assert.equal((await b.getSmall('p/f0.txt', 100)).toString(), 'file 0\n')
})

test('failures: no credentials, wrong key, missing bucket, untrusted TLS, unreachable endpoint', async () => {
  env({AWS_REGION: store.region})
  await assert.rejects(openBucket(s3src, {endpointUrl: store.httpUrl}), cliError('no_credentials', ExitCode.AUTH))
  env({AWS_ACCESS_KEY_ID: 'AKIANOBODY', AWS_SECRET_ACCESS_KEY: 'x'.repeat(40), AWS_REGION: store.region})
  await assert.rejects(openBucket(s3src, {endpointUrl: store.httpUrl}), cliError('bad_credentials', ExitCode.AUTH))
  env({AWS_ACCESS_KEY_ID: store.accessKeyId, AWS_SECRET_ACCESS_KEY: store.secretAccessKey, AWS_REGION: store.region})
  await assert.rejects(openBucket(parseSourceUrl('s3://no-such-bucket/x') as BucketSource, {endpointUrl: store.httpUrl}), cliError('no_such_bucket', ExitCode.BAD_INPUT))
  await assert.rejects(openBucket(s3src, {endpointUrl: store.httpsUrl}), cliError('tls_untrusted', ExitCode.LOCAL_ENV))
  await assert.rejects(openBucket(s3src, {endpointUrl: 'http://127.0.0.1:1'}), cliError('store_unreachable', ExitCode.LOCAL_ENV))
  await assert.rejects(openBucket(s3src, {caBundle: path.join(dir, 'nope.pem'), endpointUrl: store.httpsUrl}), cliError('bad_ca_bundle', ExitCode.BAD_INPUT))
})

test('gs:// through the S3-compatible XML API with HMAC keys; a service-account key is "not supported yet"', async () => {
  env({GCS_HMAC_ACCESS_KEY_ID: store.accessKeyId, GCS_HMAC_SECRET_ACCESS_KEY: store.secretAccessKey, GCS_ENDPOINT_URL: store.httpUrl})
  const b = await openBucket(parseSourceUrl('gs://unit-data/p/') as BucketSource)
  assert.equal(b.region, 'auto')
  const url = await b.presignGet('p/f3.txt', 60)
  assert.match(url, /X-Amz-Credential=[^&]*%2Fauto%2Fs3%2Faws4_request/)
  assert.equal(await (await fetch(url)).text(), 'file 3\n')
  env({GOOGLE_APPLICATION_CREDENTIALS: path.join(dir, 'sa.json')})
  await assert.rejects(openBucket(parseSourceUrl('gs://unit-data/p/') as BucketSource), cliError('gcs_service_account_unsupported', ExitCode.AUTH))
  env({})
  await assert.rejects(openBucket(parseSourceUrl('gs://unit-data/p/') as BucketSource), cliError('no_credentials', ExitCode.AUTH))
})

test('https:// sources: HEAD facts and ranges from the static server; 404, untrusted TLS, unreachable', async () => {
  const caBundle = path.join(dir, 'ca.pem')
  fs.writeFileSync(path.join(store.staticDir, 'houses.csv'), 'id,price\n1,100\n2,200\n')
  const url = `${store.staticUrl}/houses.csv`
  const f = await httpsFacts(url, {caBundle})
  assert.deepEqual({size: f.size, etag: f.etag, ranges: f.ranges}, {size: 21, etag: createHash('md5').update('id,price\n1,100\n2,200\n').digest('hex'), ranges: true})
  assert.equal((await httpsGetRange(url, 0, 7, {caBundle})).toString(), 'id,price')
  await assert.rejects(httpsFacts(`${store.staticUrl}/nope.csv?X-Amz-Signature=abcdef123456`, {caBundle}), (e) => cliError('no_such_key', ExitCode.BAD_INPUT)(e) && !(e as Error).message.includes('abcdef'))
  await assert.rejects(httpsFacts(url), cliError('tls_untrusted', ExitCode.LOCAL_ENV))
  await assert.rejects(httpsFacts('https://127.0.0.1:1/x.csv'), cliError('source_unreachable', ExitCode.LOCAL_ENV))
})
