// The runner behind `npm test` (scripts/test.mjs sets up first). Runs every test/**/*.test.ts
// with node's test runner (TypeScript through tsx), prints the spec report, and ends with the line
// `N passed, N failed` that CI reads. Extra args are passed through, e.g. a file filter:
//   npm test -- test/unit/schema.test.ts
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync, rmSync, mkdirSync, globSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {ensureSandboxPackages} from './sandbox-deps.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
// The e2e tests run the built CLI (bin/run.js → dist/): build first on a fresh checkout.
if (!existsSync(path.join(root, 'dist/commands')) || !existsSync(path.join(root, 'oclif.manifest.json'))) {
  const b = spawnSync(process.execPath, [path.join(root, 'scripts/build.mjs')], {cwd: root, stdio: 'inherit'})
  if (b.status !== 0) process.exit(b.status ?? 1)
}

// The sandbox tests need bubblewrap, busybox and MariaDB: installed here when missing (root + apt-get).
const missing = ensureSandboxPackages()
if (missing.length > 0) console.error(`warning: the sandbox tests need ${missing.join(', ')} (sudo apt-get install ${missing.join(' ')}); they will fail without them`)

const outDir = path.join(root, '.test-results')
mkdirSync(outDir, {recursive: true})
// One file per run: several test runs may share a checkout.
const tapFile = path.join(outDir, `results-${process.pid}.tap`)
rmSync(tapFile, {force: true})

const args = process.argv.slice(2)
const files = args.length > 0 ? args : globSync('test/**/*.test.ts', {cwd: root}).sort()
const res = spawnSync(process.execPath, [
  '--import', 'tsx',
  '--test',
  '--test-concurrency=2',
  '--test-timeout=300000',
  '--test-reporter=spec', '--test-reporter-destination=stdout',
  '--test-reporter=tap', `--test-reporter-destination=${tapFile}`,
  ...files,
], {cwd: root, stdio: 'inherit', env: {...process.env, TRACEBLOC_SKIP_NEW_VERSION_CHECK: 'true'}})

let passed = 0
let failed
try {
  const tap = readFileSync(tapFile, 'utf8')
  const num = (k) => Number((tap.match(new RegExp(`^# ${k} (\\d+)`, 'm')) ?? [])[1] ?? 0)
  passed = num('pass')
  failed = num('fail') + num('cancelled')
} catch {
  failed = 1
}
if (res.status !== 0 && failed === 0) failed = 1
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed > 0 ? 1 : 0)
