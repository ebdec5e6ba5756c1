// The release scripts' command lines: a bad option, or an option missing its value, is answered
// with one line naming it and the usage (exit 2), without a stack trace; --help prints the usage.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import path from 'node:path'
import {test} from 'node:test'
import {fileURLToPath} from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const SCRIPTS: Array<[string, string]> = [
  ['pack-installers', '--deb'],
  ['pack-tarballs', '--targets'],
  ['fetch-node', '--print-pins'],
  ['homebrew-formula', '--sums'],
  ['scoop-manifest', '--out'],
  ['sign-sums', '--sums'],
]

const node = (script: string, args: string[]) =>
  spawnSync(process.execPath, [path.join(root, 'scripts/release', `${script}.mjs`), ...args], {cwd: root, encoding: 'utf8', timeout: 60_000})

for (const [script, valued] of SCRIPTS) {
  test(`${script}: ${valued} without its value, and an unknown option: one line and the usage, exit 2`, () => {
    for (const [args, named] of [[[valued], valued], [['--no-such-option'], '--no-such-option']] as const) {
      const r = node(script, [...args])
      const lines = r.stderr.trimEnd().split('\n')
      assert.equal(r.status, 2, r.stderr)
      assert.equal(lines.length, 2, r.stderr)
      assert.ok(lines[0]!.startsWith(`${script}: `) && lines[0]!.includes(named), r.stderr)
      assert.match(lines[1]!, /^usage: /)
      assert.equal(r.stdout, '')
    }
  })
  test(`${script} --help: the usage, exit 0`, () => {
    const r = node(script, ['--help'])
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /^usage: .*--/)
  })
}
