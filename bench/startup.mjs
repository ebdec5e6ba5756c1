// Start-up benchmark (npm run bench:startup): median wall and CPU time of each command family run
// from bin/run.js (the real CLI, from dist/) against `node -e 0` (bare Node start) measured in the
// same run, interleaved so machine noise hits all of them equally. Prints each command's medians and
// ratios to `node -e 0`; the goal is a wall-time ratio ≤ 2 for every one. Exit 1 when any is above.
// The CPU-time ratio (user + system, all threads) is printed beside it: it counts V8's helper threads,
// which overlap the main thread in wall time, so it reads higher than the wall ratio on an idle machine.
// The commands that need a cluster are measured by their help (what runs before any cluster
// access is argument parsing; the rest is network time, see docs/benchmarks.md).
// Options: --runs N (default 15), --file <ingest.yaml>, --cmd "<args>" (measure only that one).
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {availableParallelism, loadavg} from 'node:os'
import path from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

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
  // help as a terminal gets it: rendered at its width (the lines above, off a terminal, print the text
  // stored at build time); OCLIF_COLUMNS takes the rendering path a terminal takes
  'OCLIF_COLUMNS=80 --help',
  'OCLIF_COLUMNS=80 dataset',
  'OCLIF_COLUMNS=80 dataset push --help',
  'OCLIF_COLUMNS=80 cluster info --help',
]
/** `VAR=value … args`: the leading assignments become the run's environment. */
const commands = (arg('--cmd') ? [arg('--cmd')] : FAMILIES).map((c) => {
  const words = c.split(' ')
  const env = {}
  while (/^[A-Z_]+=/.test(words[0] ?? '')) {
    const [k, v] = words.shift().split('=')
    env[k] = v
  }
  return Object.assign(words, {env})
})

const cpuPreload = ['--import', pathToFileURL(path.join(root, 'bench/cpu-usage.mjs')).href]
/** Wall time of one run and, from the preload, its CPU time (user + system), in ms. */
const time = (args, env = {}) => {
  const t0 = process.hrtime.bigint()
  const r = spawnSync(process.execPath, [...cpuPreload, ...args], {cwd: root, stdio: ['ignore', 'ignore', 'pipe'], env: {...process.env, TRACEBLOC_SKIP_NEW_VERSION_CHECK: 'true', ...env}})
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  if (r.status !== 0 && args[0] === bin) throw new Error(`tracebloc ${args.slice(1).join(' ')} exited ${r.status}: ${r.stderr}`)
  const cpu = /__cpu_us (\d+)\s*$/.exec(String(r.stderr))
  return {ms, cpu: cpu ? Number(cpu[1]) / 1000 : NaN}
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

// Warm-up: fill the compile cache and the OS file cache, not counted.
time(['-e', '0'])
for (const c of commands) time([bin, ...c], c.env)
const bare = []
const cli = commands.map(() => [])
for (let i = 0; i < runs; i++) {
  bare.push(time(['-e', '0']))
  commands.forEach((c, j) => cli[j].push(time([bin, ...c], c.env)))
}
const wall = (xs) => median(xs.map((x) => x.ms))
const cpu = (xs) => median(xs.map((x) => x.cpu))
const label = (c) => `${Object.entries(c.env).map(([k, v]) => `${k}=${v} `).join('')}tracebloc ${c.join(' ').replace(file, path.basename(file))}`
const width = Math.max(...commands.map((c) => label(c).length), 'node -e 0'.length)
console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} on ${availableParallelism()} cores; medians over ${runs} runs`)
// On a machine busier than its cores wall time also measures the scheduler: compare runs at a
// similar load, or look at the CPU column.
console.log(`${'node -e 0'.padEnd(width)}  wall ${wall(bare).toFixed(1).padStart(6)} ms  cpu ${cpu(bare).toFixed(1).padStart(6)} ms`)
let above = 0
commands.forEach((c, j) => {
  const wallRatio = wall(cli[j]) / wall(bare)
  const cpuRatio = cpu(cli[j]) / cpu(bare)
  if (wallRatio > GOAL) above++
  console.log(`${label(c).padEnd(width)}  wall ${wall(cli[j]).toFixed(1).padStart(6)} ms  cpu ${cpu(cli[j]).toFixed(1).padStart(6)} ms  ratio wall ${wallRatio.toFixed(2)}  cpu ${cpuRatio.toFixed(2)}${wallRatio > GOAL ? '  ABOVE GOAL' : ''}`)
})
console.log(above === 0 ? `every command within ${GOAL}× node -e 0 (wall time)` : `${above} of ${commands.length} above ${GOAL}× node -e 0 (wall time)`)
process.exitCode = above === 0 ? 0 : 1
