// `dataset push https://…/x.tar|.tar.gz|.zip` end to end: the built CLI against the sandbox cluster and
// the object store's static HTTPS server. This machine reads the archive's index (zip) or streams it
// once (tar), the stage pod pulls and unpacks it; the ingestor sees the layout of a local push. Bad
// archives end with one line, the documented exit code and nothing left behind. Also: --sha256 and
// SHA256SUMS for a single https object, and a multipart S3 object whose ETag is checked in the pod.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import * as fs from 'node:fs'
import path from 'node:path'
import {after, before, test} from 'node:test'
import zlib from 'node:zlib'

import {CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, S3Client, UploadPartCommand} from '@aws-sdk/client-s3'

import {startSandbox, type Sandbox} from '../sandbox/index.js'
import {CATS_DOGS, runCli, SAMPLES} from './push-cli.js'

let sb: Sandbox
let skip: string | false = false
let env: Record<string, string>
let caFile: string
const pods = {group: '', version: 'v1', resource: 'pods'}
const HOUSES = path.join(SAMPLES, 'tabular_regression/tabular_regression_sample_in_csv_format.csv')

/** A ustar archive written by hand, so entries no tar tool would write (../, links, devices) can be made. */
function tarOf(entries: Array<{name: string; body?: Buffer | string; type?: string; link?: string; pax?: string}>): Buffer {
  const blocks: Buffer[] = []
  for (const e0 of entries) {
    // a pax extended header carries the real path; the ustar name field then holds a stand-in
    const pre: typeof entries = e0.pax === undefined ? [] : [{name: 'PaxHeaders/x', type: 'x', body: paxRecord('path', e0.pax)}]
    for (const e of [...pre, e0]) {
    const body = Buffer.from(e.body ?? '')
    const h = Buffer.alloc(512)
    h.write(e.name, 0, 100, 'utf8')
    h.write('0000644\0', 100)
    h.write('0000000\0', 108)
    h.write('0000000\0', 116)
    h.write(body.length.toString(8).padStart(11, '0') + '\0', 124)
    h.write('00000000000\0', 136)
    h.write('        ', 148)
    h.write(e.type ?? '0', 156)
    if (e.link) h.write(e.link, 157, 100)
    h.write('ustar\0' + '00', 257)
    let sum = 0
    for (const b of h) sum += b
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148)
    blocks.push(h, body, Buffer.alloc((512 - (body.length % 512)) % 512))
    }
  }
  blocks.push(Buffer.alloc(1024))
  return Buffer.concat(blocks)
}

/** One pax record, "<len> key=value\n", where len counts the whole record, itself included. */
function paxRecord(key: string, value: string): string {
  const rest = ` ${key}=${value}\n`
  let n = rest.length
  while (String(n).length + rest.length !== n) n = String(n).length + rest.length
  return `${n}${rest}`
}

/** A zip (stored members) written by hand; `mode` is the unix mode in the external attributes. */
function zipOf(entries: Array<{name: string; body?: Buffer | string; mode?: number}>): Buffer {
  const locals: Buffer[] = []
  const central: Buffer[] = []
  let offset = 0
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '')
    const name = Buffer.from(e.name)
    const crc = zlib.crc32(body)
    const l = Buffer.alloc(30)
    l.writeUInt32LE(0x04034b50, 0)
    l.writeUInt16LE(20, 4)
    l.writeUInt32LE(crc, 14)
    l.writeUInt32LE(body.length, 18)
    l.writeUInt32LE(body.length, 22)
    l.writeUInt16LE(name.length, 26)
    const c = Buffer.alloc(46)
    c.writeUInt32LE(0x02014b50, 0)
    c.writeUInt16LE((3 << 8) | 20, 4)
    c.writeUInt16LE(20, 6)
    c.writeUInt32LE(crc, 16)
    c.writeUInt32LE(body.length, 20)
    c.writeUInt32LE(body.length, 24)
    c.writeUInt16LE(name.length, 28)
    c.writeUInt32LE(((e.mode ?? 0o100644) << 16) >>> 0, 38)
    c.writeUInt32LE(offset, 42)
    locals.push(l, name, body)
    central.push(c, name)
    offset += 30 + name.length + body.length
  }
  const cd = Buffer.concat(central)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(entries.length, 8)
  end.writeUInt16LE(entries.length, 10)
  end.writeUInt32LE(cd.length, 12)
  end.writeUInt32LE(offset, 16)
  return Buffer.concat([...locals, cd, end])
}

/** The cats-dogs sample as archive entries, under `root` (or at the top). */
function catsDogs(root: string, drop?: string): Array<{name: string; body: Buffer}> {
  const p = root ? `${root}/` : ''
  const out = [{name: `${p}labels_file_sample.csv`, body: fs.readFileSync(path.join(CATS_DOGS, 'labels_file_sample.csv'))}]
  for (const f of fs.readdirSync(path.join(CATS_DOGS, 'images')).sort()) if (f !== drop) out.push({name: `${p}images/${f}`, body: fs.readFileSync(path.join(CATS_DOGS, 'images', f))})
  return out
}

before(async () => {
  sb = await startSandbox({objectStore: true})
  const store = sb.objectStore!
  if (!store.network) skip = 'no pod network here (needs Linux, root and iproute2)'
  caFile = path.join(path.dirname(sb.kubeconfigPath), 'object-store-ca.pem')
  env = {AWS_ACCESS_KEY_ID: store.accessKeyId, AWS_SECRET_ACCESS_KEY: store.secretAccessKey, AWS_REGION: store.region, AWS_ENDPOINT_URL: store.httpUrl, TRACEBLOC_STAGE_POD_TIMEOUT: '30', TRACEBLOC_POD_START_TIMEOUT: '30'}
  const dir = store.staticDir
  const put = (name: string, body: Buffer | string) => fs.writeFileSync(path.join(dir, name), body)
  // real tools for the good archives: tar + gzip with a top folder, zip without one
  const src = path.join(dir, '..', 'src', 'cats-dogs')
  fs.mkdirSync(path.dirname(src), {recursive: true})
  fs.cpSync(CATS_DOGS, src, {recursive: true})
  execFileSync('tar', ['-czf', path.join(dir, 'cats-dogs.tar.gz'), '-C', path.dirname(src), 'cats-dogs'])
  execFileSync('zip', ['-qr', path.join(dir, 'cats-dogs.zip'), '.'], {cwd: src})
  // one member named only by a pax header (as tar writes names over 100 bytes)
  put('cats-dogs.tar', tarOf(catsDogs('').map((e) => (e.name === 'images/cat2.jpeg' ? {...e, name: 'images/cat2.jpeg.trunc', pax: e.name} : e))))
  put('same.zip', zipOf(catsDogs('')))
  put('same-evil.zip', zipOf(catsDogs('').map((e) => (e.name === 'images/dog3.jpeg' ? {...e, name: '../images/dog3.j'} : e))))
  put('padded.zip', zipOf([...catsDogs(''), {name: 'notes/padding.bin', body: Buffer.alloc(3 * 1024 * 1024, 7)}]))
  // bad archives
  const csv = fs.readFileSync(path.join(CATS_DOGS, 'labels_file_sample.csv'))
  put('dotdot.tar', tarOf([...catsDogs('d'), {name: 'd/../../evil.csv', body: csv}]))
  put('absolute.tgz', zlib.gzipSync(tarOf([...catsDogs('d'), {name: '/etc/evil.csv', body: csv}])))
  put('symlink.tar', tarOf([...catsDogs('d'), {name: 'd/images/link.jpeg', type: '2', link: '/etc/passwd'}]))
  put('hardlink.tar', tarOf([...catsDogs('d'), {name: 'd/images/hard.jpeg', type: '1', link: 'd/images/cat1.jpeg'}]))
  put('device.tar', tarOf([...catsDogs('d'), {name: 'd/images/dev.jpeg', type: '3'}]))
  put('symlink.zip', zipOf([...catsDogs(''), {name: 'images/link.jpeg', body: '/etc/passwd', mode: 0o120777}]))
  put('dotdot.zip', zipOf([...catsDogs(''), {name: '../evil.csv', body: csv}]))
  put('missing.tgz', zlib.gzipSync(tarOf(catsDogs('d', 'dog3.jpeg'))))
  // larger than the 1 MiB client-pvc of the pvcFull fault: random padding in a folder the plan ignores
  put('big.tar', tarOf([...catsDogs(''), {name: 'notes/padding.bin', body: Buffer.alloc(3 * 1024 * 1024, 7)}]))
  // single https objects and their checksums
  fs.copyFileSync(HOUSES, path.join(dir, 'houses.csv'))
  const sums = path.join(dir, 'sums')
  fs.mkdirSync(sums)
  fs.copyFileSync(HOUSES, path.join(sums, 'houses.csv'))
  fs.writeFileSync(path.join(sums, 'SHA256SUMS'), `${'0'.repeat(64)}  houses.csv\n`)
  // a multipart object in the S3 API
  const s3 = new S3Client({endpoint: store.httpUrl, region: store.region, forcePathStyle: true, credentials: {accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey}})
  await s3.send(new CreateBucketCommand({Bucket: 'acme-ml'}))
  // parts of a real multipart upload are 5 MiB at least (but the last): a CSV of 5.5 MiB in two parts
  const rows = ['id,square_feet,bedrooms,age,price']
  for (let i = 1; rows.length * 24 < 5.5 * 1024 * 1024; i++) rows.push(`${i},${1000 + (i % 997)}.5,${1 + (i % 5)},${i % 60},${200 + (i % 301)}.25`)
  const body = Buffer.from(rows.join('\n') + '\n')
  const up = await s3.send(new CreateMultipartUploadCommand({Bucket: 'acme-ml', Key: 'mp/houses.csv'}))
  const half = 5 * 1024 * 1024
  const parts = []
  for (const [i, chunk] of [body.subarray(0, half), body.subarray(half)].entries()) {
    const r = await s3.send(new UploadPartCommand({Bucket: 'acme-ml', Key: 'mp/houses.csv', UploadId: up.UploadId, PartNumber: i + 1, Body: chunk}))
    parts.push({ETag: r.ETag, PartNumber: i + 1})
  }
  await s3.send(new CompleteMultipartUploadCommand({Bucket: 'acme-ml', Key: 'mp/houses.csv', UploadId: up.UploadId, MultipartUpload: {Parts: parts}}))
})
after(async () => {
  await sb?.stop()
})

const url = (name: string) => `${sb.objectStore!.staticUrl}/${name}`
function push(source: string, table: string, extra: string[] = []) {
  // this machine reaches the server by address, the pod by name; both trust the store's CA
  const https = source.startsWith('https:') ? ['--ca-bundle', caFile, '--cluster-endpoint-url', sb.objectStore!.podStaticUrl!] : []
  return runCli(['dataset', 'push', source, '--table', table, '--kubeconfig', sb.kubeconfigPath, '--json', ...https, ...extra], {env})
}
const stagePods = () => sb.store.list(pods, {namespace: sb.namespace, labelSelector: 'tracebloc.io/component=stage-pod'}).items
const staging = (table: string) => {
  const dir = path.join(sb.pvcDir, '.tracebloc-staging')
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((e) => e.startsWith(table) || e.startsWith(`.${table}`)) : []
}
const sha = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex')

for (const [file, table] of [
  ['cats-dogs.tar.gz', 'cats_tgz'],
  ['cats-dogs.zip', 'cats_zip'],
  ['cats-dogs.tar', 'cats_tar'],
] as const) {
  test(`https:// ${file}: unpacked in the pod, staged and ingested like the folder inside it`, async (c) => {
    if (skip) return c.skip(skip)
    const r = await push(url(file), table, ['--category', 'image_classification'])
    assert.equal(r.code, 0, r.stderr + r.stdout)
    assert.equal(r.json.summary.inserted_records, 576)
    assert.equal(r.json.source, url(file))
    assert.equal(r.json.files, 7)
    assert.equal(r.json.staged.wire_bytes, 0, 'no dataset byte on the exec streams')
    // the local push's layout, byte for byte; nothing of the archive (or its unpacked rest) left
    const dest = path.join(sb.pvcDir, table)
    assert.deepEqual(fs.readdirSync(dest).filter((f) => !f.startsWith('.tracebloc-')).sort(), ['cat1.jpeg', 'cat2.jpeg', 'cat3.jpeg', 'dog1.jpeg', 'dog2.jpeg', 'dog3.jpeg'])
    for (const f of fs.readdirSync(path.join(CATS_DOGS, 'images'))) assert.equal(sha(path.join(dest, f)), sha(path.join(CATS_DOGS, 'images', f)), `${f} differs`)
    assert.equal(stagePods().length, 0)
    assert.deepEqual(staging(table), [])
  })
}

test('zip: only the index and the needed members come to this machine', async (c) => {
  if (skip) return c.skip(skip)
  const r = await runCli(['dataset', 'push', url('cats-dogs.zip'), '--table', 'cats_zip_dry', '--category', 'image_classification', '--kubeconfig', sb.kubeconfigPath, '--ca-bundle', caFile, '--dry-run'], {env})
  assert.equal(r.code, 0, r.stderr + r.stdout)
  assert.match(r.stdout, /source +https:\/\/.*cats-dogs\.zip/)
  assert.match(r.stdout, /sampled +image header \(type, resolution\): 6 of 6 images/)
  // the central directory, the CSV and the header sample: a fraction of the archive
  // (these sample JPEGs carry EXIF first, so their headers take the whole small file; a 3 MiB member
  // the plan does not need is never read)
  const j = await runCli(['dataset', 'push', url('padded.zip'), '--table', 'cats_zip_dry', '--category', 'image_classification', '--kubeconfig', sb.kubeconfigPath, '--ca-bundle', caFile, '--dry-run', '--json'], {env})
  assert.equal(j.code, 0, j.stderr + j.stdout)
  const size = fs.statSync(path.join(sb.objectStore!.staticDir, 'padded.zip')).size
  const needed = catsDogs('').reduce((a, e) => a + e.body.length, 0)
  assert.ok(j.json.bytes_read_here < needed + 16 * 1024, `read ${j.json.bytes_read_here} of ${size} bytes (the CSV and images: ${needed})`)
})

test('bad archives: one line naming the entry, exit 2 (3 for the CSV check), no stage pod, nothing staged', async (c) => {
  if (skip) return c.skip(skip)
  const cases: Array<[string, number, RegExp]> = [
    ['dotdot.tar', 2, /"d\/\.\.\/\.\.\/evil\.csv" points outside the archive's root/],
    ['absolute.tgz', 2, /"\/etc\/evil\.csv" is an absolute path/],
    ['symlink.tar', 2, /"d\/images\/link\.jpeg" is a symbolic link/],
    ['hardlink.tar', 2, /"d\/images\/hard\.jpeg" is a hard link/],
    ['device.tar', 2, /"d\/images\/dev\.jpeg" is a device or FIFO/],
    ['symlink.zip', 2, /"images\/link\.jpeg" is a symbolic link/],
    ['dotdot.zip', 2, /"\.\.\/evil\.csv" points outside the archive's root/],
    ['missing.tgz', 3, /reference images that are not in images\/: "dog3\.jpeg"/],
  ]
  for (const [file, code, msg] of cases) {
    const r = await push(url(file), 'bad_archive', ['--category', 'image_classification'])
    assert.equal(r.code, code, `${file}: ${r.stderr}${r.stdout}`)
    assert.match(r.json.error, msg, file)
    assert.doesNotMatch(r.json.error, /tracebloc-remote-/, 'no temporary path')
    if (code === 2) assert.doesNotMatch(r.json.error, /\n/, 'one line')
  }
  assert.equal(stagePods().length, 0)
  assert.deepEqual(staging('bad_archive'), [])
  assert.ok(!fs.existsSync(path.join(sb.pvcDir, 'bad_archive')))
})

test('an archive larger than the free space on client-pvc: exit 7 before any byte is pulled, nothing left', async (c) => {
  if (skip) return c.skip(skip)
  sb.faults.set({pvcFull: true})
  try {
    const r = await push(url('big.tar'), 'cats_big', ['--category', 'image_classification'])
    assert.equal(r.code, 7, r.stderr + r.stdout)
    assert.equal(r.json.reason, 'pvc_full', r.json.error)
    assert.match(r.json.error, /client-pvc has .* free, the dataset needs/)
    assert.equal(stagePods().length, 0)
    assert.ok(!fs.existsSync(path.join(sb.pvcDir, 'cats_big')))
  } finally {
    sb.faults.clear()
  }
})

test('--sha256 of an https:// CSV: a match ingests, a mismatch is exit 7 with nothing swapped in', async (c) => {
  if (skip) return c.skip(skip)
  const args = ['--category', 'tabular_regression', '--label-column', 'price']
  const bad = await push(url('houses.csv'), 'houses_sha', [...args, '--sha256', 'ab'.repeat(32)])
  assert.equal(bad.code, 7, bad.stderr + bad.stdout)
  assert.equal(bad.json.reason, 'sha256_mismatch')
  assert.match(bad.json.error, /houses\.csv does not match its sha256 from --sha256/)
  assert.ok(!fs.existsSync(path.join(sb.pvcDir, 'houses_sha')), 'nothing swapped in')
  assert.equal(stagePods().length, 0)
  const good = await push(url('houses.csv'), 'houses_sha', [...args, '--sha256', sha(HOUSES)])
  assert.equal(good.code, 0, good.stderr + good.stdout)
  assert.equal(good.json.summary.inserted_records, 8)
})

test('a SHA256SUMS beside the URL is used: a wrong line stops the push with exit 7', async (c) => {
  if (skip) return c.skip(skip)
  const r = await push(url('sums/houses.csv'), 'houses_sums', ['--category', 'tabular_regression', '--label-column', 'price'])
  assert.equal(r.code, 7, r.stderr + r.stdout)
  assert.equal(r.json.reason, 'sha256_mismatch')
  assert.match(r.json.error, /from SHA256SUMS/)
  assert.ok(!fs.existsSync(path.join(sb.pvcDir, 'houses_sums')))
})

test('--sha256 of a tar archive that does not match: stopped before the cluster is touched, exit 7', async (c) => {
  if (skip) return c.skip(skip)
  const r = await push(url('cats-dogs.tar.gz'), 'cats_tgz_sha', ['--category', 'image_classification', '--sha256', 'cd'.repeat(32)])
  assert.equal(r.code, 7, r.stderr + r.stdout)
  assert.equal(r.json.reason, 'sha256_mismatch')
  assert.equal(stagePods().length, 0)
})

test('a multipart S3 object: its ETag is recomputed in the pod, so a corrupt body of the same size is caught', async (c) => {
  if (skip) return c.skip(skip)
  const args = ['--category', 'tabular_regression', '--label-column', 'price']
  // the CLI reads the CSV itself first: the body is corrupted only for the stage pod's downloads
  const arm = setInterval(() => {
    if (stagePods().length > 0) {
      sb.faults.set({objectStore: {corruptBody: {times: 5, keyIncludes: 'mp/houses'}}})
      clearInterval(arm)
    }
  }, 20)
  try {
    const r = await push('s3://acme-ml/mp/houses.csv', 'houses_mp_bad', args)
    assert.equal(r.code, 7, r.stderr + r.stdout)
    assert.equal(r.json.reason, 'verify_failed')
    assert.ok(!fs.existsSync(path.join(sb.pvcDir, 'houses_mp_bad')), 'nothing swapped in')
  } finally {
    clearInterval(arm)
    sb.faults.clear()
  }
  // the good bytes pass the same check (staged and verified; the ingestion is not what this test is about)
  const ok = await push('s3://acme-ml/mp/houses.csv', 'houses_mp', [...args, '--detach'])
  assert.equal(ok.code, 0, ok.stderr + ok.stdout)
  assert.equal(ok.json.staged.sent_files, 1)
  assert.equal(ok.json.staged.retries, 0, 'the recomputed multipart ETag matched the first download')
})

test('an archive swapped on the server after the check: the pod refuses it (tar: sha256, zip: its own listing), nothing swapped in', async (c) => {
  if (skip) return c.skip(skip)
  const dir = sb.objectStore!.staticDir
  const cases: Array<[string, string, number, string, RegExp]> = [
    ['swap.tar', 'dotdot.tar', 7, 'verify_failed', /swap\.tar changed since it was checked on this machine/],
    // the same size, one member renamed: only the pod's own listing can tell
    ['swap.zip', 'same-evil.zip', 2, 'unsafe_archive', /swap\.zip: the archive the stage pod pulled holds member paths that start with \.\.\//],
  ]
  for (const [name, evil, code, reason, msg] of cases) {
    fs.copyFileSync(path.join(dir, name.endsWith('.zip') ? 'same.zip' : 'cats-dogs.tar'), path.join(dir, name))
    // once the stage pod exists (this machine's checks are done), the server holds another archive
    const swap = setInterval(() => {
      if (stagePods().length > 0) {
        fs.copyFileSync(path.join(dir, evil), path.join(dir, name))
        clearInterval(swap)
      }
    }, 10)
    try {
      const table = `swapped_${name.endsWith('.zip') ? 'zip' : 'tar'}`
      const r = await push(url(name), table, ['--category', 'image_classification'])
      assert.equal(r.code, code, `${name}: ${r.stderr}${r.stdout}`)
      assert.equal(r.json.reason, reason, r.json.error)
      assert.match(r.json.error, msg)
      assert.ok(!fs.existsSync(path.join(sb.pvcDir, table)), 'nothing ingested')
      assert.ok(!fs.existsSync(path.join(sb.pvcDir, '.tracebloc-staging', table)), 'nothing swapped in')
      assert.ok(!fs.existsSync(path.join(sb.pvcDir, 'evil.csv')) && !fs.existsSync(path.join(sb.pvcDir, '.tracebloc-staging', 'images')), 'nothing written outside')
    } finally {
      clearInterval(swap)
    }
  }
  assert.equal(stagePods().length, 0)
})
