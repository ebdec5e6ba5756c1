// npm `prepack` hook (runs before `npm pack` / `npm publish`): a clean build (tsc, gen-* steps,
// `oclif manifest`), then the README command docs via `oclif readme` when README.md carries
// oclif's markers. The manifest is what lets the installed CLI dispatch without globbing commands.
import {execFileSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const run = (args) => execFileSync(process.execPath, args, {cwd: root, stdio: ['ignore', 2, 2]})

try {
  run([path.join(root, 'scripts/build.mjs')])
  if (!existsSync(path.join(root, 'oclif.manifest.json'))) throw new Error('build produced no oclif.manifest.json')
  const readme = path.join(root, 'README.md')
  if (existsSync(readme) && readFileSync(readme, 'utf8').includes('<!-- commands -->')) {
    run([path.join(root, 'node_modules/oclif/bin/run.js'), 'readme'])
  } else {
    console.error('prepack: README.md has no <!-- commands --> marker; command docs not regenerated')
  }
} catch (error) {
  console.error(`prepack failed: ${error.message}`)
  process.exit(1)
}
