// Start-up benchmark (npm run bench:startup): median wall time of each command family run from
// bin/run.js (the real CLI, from dist/) against `node -e 0` (bare Node start) measured in the same
// run, interleaved so machine noise hits all of them equally. Prints each command's median and its
// ratio to `node -e 0`; the goal is ratio ≤ 2 for every one. Exit 1 when any is above.
// The commands that need a cluster are measured by their help (what runs before any cluster
// access is argument parsing; the rest is network time, see docs/benchmarks.md).
// Options: --runs N (default 15), --file <ingest.yaml>, --cmd "<args>" (measure only that one).
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {availableParallelism, loadavg} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name)
  return i > 0 ? process.argv[i + 1] : dflt
}
const GOAL = 2
const runs = Math.max(10, Number(arg('--runs', 15)))
const file = arg('--file', path.join(root, 'test/fixtures/examples/image_classification.yaml'))
const bin = path.join(root, 'bin/run.js')
if (!existsSync(path.join(root, 'dist/commands'))) {
  console.error('bench:startup: dist/ is missing; run `npm run build` first')
  process.exit(1)
}

// One entry per command family: help (root, topic, each command), version, validate, completion.
const FAMILIES = [
  '--help',
  'dataset',
  'dataset list --help',
  'dataset push --help',
  'dataset show --help',
  'dataset logs --help',
  'dataset runs --help',
  'dataset cancel --help',
  'dataset delete --help',
  'cluster info --help',
  'ingest validate --help',
  'autocomplete --help',
  'version',
  '--version',
  `ingest validate ${file}`,
  'autocomplete fish',
]
const commands = (arg('--cmd') ? [arg('--cmd')] : FAMILIES).map((c) => c.split(' '))

const time = (args) => {
  const t0 = process.hrtime.bigint()
  const r = spawnSync(process.execPath, args, {cwd: root, stdio: ['ignore', 'ignore', 'pipe'], env: {...process.env, TRACEBLOC_SKIP_NEW_VERSION_CHECK: 'true'}})
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  if (r.status !== 0 && args[0] === bin) throw new Error(`tracebloc ${args.slice(1).join(' ')} exited ${r.status}: ${r.stderr}`)
  return ms
}
const min = (xs) => Math.min(...xs)
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

// Warm-up: fill the compile cache and the OS file cache, not counted.
time(['-e', '0'])
for (const c of commands) time([bin, ...c])
const bare = []
const cli = commands.map(() => [])
for (let i = 0; i < runs; i++) {
  bare.push(time(['-e', '0']))
  commands.forEach((c, j) => cli[j].push(time([bin, ...c])))
}
const mBare = median(bare)
const label = (c) => `tracebloc ${c.join(' ').replace(file, path.basename(file))}`
console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} on ${availableParallelism()} cores`)
const width = Math.max(...commands.map((c) => label(c).length), 'node -e 0'.length)
// The minimum is printed too: on a busy machine it is the steadier of the two.
console.log(`${'node -e 0'.padEnd(width)}  median ${mBare.toFixed(1).padStart(6)} ms  min ${min(bare).toFixed(1).padStart(6)} ms  over ${runs} runs`)
let above = 0
commands.forEach((c, j) => {
  const m = median(cli[j])
  const ratio = m / mBare
  if (ratio > GOAL) above++
  const minRatio = min(cli[j]) / min(bare)
  console.log(`${label(c).padEnd(width)}  median ${m.toFixed(1).padStart(6)} ms  min ${min(cli[j]).toFixed(1).padStart(6)} ms  ratio ${ratio.toFixed(2)} (min ${minRatio.toFixed(2)})${ratio > GOAL ? '  ABOVE GOAL' : ''}`)
})
console.log(above === 0 ? `every command within ${GOAL}× node -e 0` : `${above} of ${commands.length} above ${GOAL}× node -e 0`)
process.exitCode = above === 0 ? 0 : 1
