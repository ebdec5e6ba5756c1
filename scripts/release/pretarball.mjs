// oclif `pretarball` hook: runs in oclif's tarball workspace (<root>/tmp/tracebloc, cwd) after the
// production `npm install`, before the per-target copies are made and compressed.
// 1. oclif's bin/tracebloc wrapper runs `node bin/run`; our entry point is bin/run.js, so add the copy.
// 2. Drop what never runs from node_modules: source maps and TypeScript declarations. That is about half
//    of node_modules (most of it @kubernetes/client-node's dist/*.d.ts and *.js.map).
import {copyFileSync, existsSync, readdirSync, rmSync, statSync} from 'node:fs'
import path from 'node:path'

const ws = process.cwd()
if (!existsSync(path.join(ws, 'bin', 'run.js')) || !existsSync(path.join(ws, 'node_modules'))) {
  console.error(`pretarball: ${ws} is not an oclif tarball workspace (no bin/run.js or node_modules)`)
  process.exit(1)
}
copyFileSync(path.join(ws, 'bin', 'run.js'), path.join(ws, 'bin', 'run'))

const prunable = /(\.js\.map|\.mjs\.map|\.cjs\.map|\.d\.ts|\.d\.mts|\.d\.cts|\.d\.ts\.map)$/
let files = 0
let bytes = 0
for (const rel of readdirSync(path.join(ws, 'node_modules'), {recursive: true})) {
  if (!prunable.test(rel)) continue
  const file = path.join(ws, 'node_modules', rel)
  const st = statSync(file, {throwIfNoEntry: false})
  if (!st?.isFile()) continue
  bytes += st.size
  files++
  rmSync(file)
}
console.error(`pretarball: bin/run added; pruned ${files} map/declaration files (${(bytes / 1048576).toFixed(1)} MiB) from node_modules`)
