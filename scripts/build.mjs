// Build: compile TypeScript to dist/, then run the generation steps (precompiled schema
// validator, oclif manifest) so nothing is compiled or globbed at run time.
import {execFileSync} from 'node:child_process'
import {rmSync, readdirSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import path from 'node:path'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const run = (cmd, args) => {
  try {
    execFileSync(cmd, args, {cwd: root, stdio: "inherit"})
  } catch {
    process.exit(1)
  }
}

rmSync(path.join(root, 'dist'), {recursive: true, force: true})
run(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'])
// Generation steps live in scripts/gen-*.mjs and run in name order.
for (const f of readdirSync(path.join(root, 'scripts')).filter((f) => /^gen-.*\.mjs$/.test(f)).sort()) {
  run(process.execPath, [path.join(root, 'scripts', f)])
}
run(process.execPath, [path.join(root, 'node_modules/oclif/bin/run.js'), 'manifest'])
// help text for runs off a terminal, rendered from the manifest just written
run(process.execPath, [path.join(root, 'scripts/cache-help-text.mjs')])
