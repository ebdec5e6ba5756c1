// Start-up benchmark (npm run bench:startup): median wall time of
//   node bin/run.js ingest validate <example>      (the real CLI, from dist/)
// against `node -e 0` (bare Node start) measured in the same run, interleaved so machine noise
// hits both equally. Prints both medians and their ratio; the goal is ratio ≤ 2.5.
// Options: --runs N (default 15), --file <ingest.yaml>, --cmd "<args>" (default: ingest validate <file>).
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name)
  return i > 0 ? process.argv[i + 1] : dflt
}
const runs = Math.max(10, Number(arg('--runs', 15)))
const upstreamExample = path.resolve(root, '../shared/reference/examples/image_classification.yaml')
const file = arg('--file', existsSync(upstreamExample) ? upstreamExample : path.join(root, 'test/fixtures/configs/y03-duplicate-keys.yaml'))
const cliArgs = arg('--cmd', `ingest validate ${file}`).split(' ')
const bin = path.join(root, 'bin/run.js')
if (!existsSync(path.join(root, 'dist/commands'))) {
  console.error('bench:startup: dist/ is missing; run `npm run build` first')
  process.exit(1)
}

const time = (args) => {
  const t0 = process.hrtime.bigint()
  const r = spawnSync(process.execPath, args, {cwd: root, stdio: ['ignore', 'ignore', 'pipe'], env: {...process.env, TRACEBLOC_SKIP_NEW_VERSION_CHECK: 'true'}})
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  if (r.status !== 0 && args[0] === bin) throw new Error(`tracebloc ${cliArgs.join(' ')} exited ${r.status}: ${r.stderr}`)
  return ms
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

// Warm-up: fill the compile cache and the OS file cache, not counted.
time([bin, ...cliArgs])
time(['-e', '0'])
const cli = []
const bare = []
for (let i = 0; i < runs; i++) {
  bare.push(time(['-e', '0']))
  cli.push(time([bin, ...cliArgs]))
}
const mCli = median(cli)
const mBare = median(bare)
const ratio = mCli / mBare
console.log(`node -e 0:                      median ${mBare.toFixed(1)} ms over ${runs} runs`)
console.log(`tracebloc ${cliArgs[0]} ${cliArgs[1] ?? ''}: median ${mCli.toFixed(1)} ms over ${runs} runs`)
console.log(`ratio ${ratio.toFixed(2)} (goal ≤ 2.5) ${ratio <= 2.5 ? 'OK' : 'ABOVE GOAL'}`)
