// The demo behind `npm run demo` (scripts/demo.mjs sets up first): start the sandbox cluster,
// push the cats/dogs sample through the whole pipeline (validate → connect → stage → submit →
// watch), print the summary, stop the sandbox. `npm run demo -- --s3` puts the sample in the sandbox's
// object store first and pushes s3://demo/cats-dogs/: the cluster pulls it, this machine reads the CSV.
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {ensureSandboxPackages} from './sandbox-deps.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const sample = process.env.TRACEBLOC_DEMO_DATA ?? path.join(root, 'test/fixtures/reference/samples/image_classification/data')
if (!existsSync(path.join(root, 'dist/commands'))) spawnSync(process.execPath, [path.join(root, 'scripts/build.mjs')], {stdio: 'inherit'})
// The sandbox's kubelet runs pods under bubblewrap on a busybox root, next to a real MariaDB: set them up
// (root + apt-get) or say what is missing up front, not as a stack trace.
const missing = ensureSandboxPackages()
if (process.platform !== 'linux' || missing.length > 0) {
  console.error(process.platform !== 'linux'
    ? `demo: the sandbox cluster runs on Linux only (this is ${process.platform}); point the CLI at a real cluster instead (README: Push a dataset)`
    : `demo: the sandbox cluster needs ${missing.join(', ')}: sudo apt-get install ${missing.join(' ')}, then run it again`)
  process.exit(1)
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tracebloc-demo-'))
const kubeconfig = path.join(tmp, 'kubeconfig')
const fromS3 = process.argv.includes('--s3')
// --s3: the store's plain-HTTP endpoint, which the sandbox's pods reach by the same address as this machine
const sandbox = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'test/sandbox/main.ts'), '--kubeconfig', kubeconfig, ...(fromS3 ? ['--object-store-http'] : [])], {cwd: root, stdio: ['ignore', 'pipe', 'inherit']})

/** object-store.env as variables, then the sample uploaded to s3://demo/cats-dogs/. */
async function uploadSample() {
  const env = {}
  for (const line of readFileSync(path.join(tmp, 'object-store.env'), 'utf8').split('\n')) {
    const m = /^(?:export )?([A-Z_]+)=['"]?([^'"]*)['"]?$/.exec(line.trim())
    if (m) env[m[1]] = m[2]
  }
  const {S3Client, CreateBucketCommand, PutObjectCommand} = await import('@aws-sdk/client-s3')
  const s3 = new S3Client({endpoint: env.AWS_ENDPOINT_URL, region: env.AWS_REGION, forcePathStyle: true, credentials: {accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY}})
  await s3.send(new CreateBucketCommand({Bucket: 'demo'}))
  const walk = (dir, rel = '') => readdirSync(dir, {withFileTypes: true}).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name), `${rel}${e.name}/`) : [`${rel}${e.name}`]))
  for (const f of walk(sample)) await s3.send(new PutObjectCommand({Bucket: 'demo', Key: `cats-dogs/${f}`, Body: readFileSync(path.join(sample, f))}))
  return env
}

const ready = new Promise((resolve, reject) => {
  let buf = ''
  sandbox.stdout.on('data', (d) => {
    buf += d
    if (buf.includes('sandbox ready')) resolve()
  })
  sandbox.on('exit', (code) => reject(new Error(`sandbox exited early (code ${code}):\n${buf}`)))
})

let code = 1
try {
  await ready
  const env = fromS3 ? await uploadSample() : {}
  const source = fromS3 ? 's3://demo/cats-dogs/' : sample
  console.log(`sandbox ready; pushing ${source}\n`)
  const push = spawn(process.execPath, [path.join(root, 'bin/run.js'), 'dataset', 'push', source, '--table', 'cats_dogs_train', '--category', 'image_classification', '--label-column', 'label', '--kubeconfig', kubeconfig], {
    cwd: root,
    stdio: 'inherit',
    // the demo's run goes into its own recent-run cache (removed with the sandbox), never the user's
    env: {...process.env, ...env, TRACEBLOC_CACHE_DIR: path.join(tmp, 'cache')},
  })
  code = await new Promise((resolve) => push.on('close', (c) => resolve(c ?? 1)))
} catch (error) {
  console.error(String(error))
} finally {
  sandbox.kill('SIGINT')
  await new Promise((resolve) => (sandbox.exitCode === null ? sandbox.on('exit', resolve) : resolve()))
  rmSync(tmp, {recursive: true, force: true})
}
process.exit(code)
