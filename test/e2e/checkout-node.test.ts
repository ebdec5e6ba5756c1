// A checkout run with the machine's older Node: bin/run.js runs itself on the project's .node/ Node
// when one is there (as `npm run demo` / `npm test` leave it), fast paths and oclif commands alike,
// and without one says which Node it needs.
import assert from 'node:assert/strict'
import {execFileSync, spawnSync} from 'node:child_process'
import {copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, describe, test} from 'node:test'

import {ROOT} from './push-cli.js'

const required = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).engines.node as string).replace(/^>=\s*/, '')
const version = (v: string) => v.replace(/^v/, '').split('.').map(Number)
const older = (a: number[], b: number[]) => (a[0] !== b[0] ? a[0] < b[0] : a[1] !== b[1] ? a[1] < b[1] : a[2] < b[2])

function findOldNode(): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(path.delimiter), '/usr/bin', '/usr/local/bin', '/bin']) {
    const node = path.join(dir, 'node')
    if (!dir || dir.includes(`${path.sep}.node${path.sep}`) || !existsSync(node)) continue
    try {
      if (older(version(execFileSync(node, ['-v'], {encoding: 'utf8'}).trim()), version(required))) return node
    } catch {
      // not runnable
    }
  }
  return undefined
}

const oldNode = process.platform === 'win32' ? undefined : findOldNode()
const dirs: string[] = []
after(() => {
  for (const d of dirs) rmSync(d, {recursive: true, force: true})
})

/** A checkout sharing this one's build and dependencies; `pinned` puts this test's Node at .node/. */
function checkout(pinned: boolean): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tb-checkout-'))
  dirs.push(dir)
  mkdirSync(path.join(dir, 'bin'))
  copyFileSync(path.join(ROOT, 'bin/run.js'), path.join(dir, 'bin/run.js'))
  copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'))
  for (const d of ['dist', 'node_modules', 'oclif.manifest.json']) symlinkSync(path.join(ROOT, d), path.join(dir, d))
  if (pinned) {
    mkdirSync(path.join(dir, '.node/node_modules/node/bin'), {recursive: true})
    symlinkSync(process.execPath, path.join(dir, '.node/node_modules/node/bin/node'))
  }
  return dir
}

const run = (dir: string, args: string[]) => {
  const env: NodeJS.ProcessEnv = {...process.env, NO_COLOR: '1', TRACEBLOC_SKIP_NEW_VERSION_CHECK: 'true'}
  delete env.TRACEBLOC_REEXEC
  return spawnSync(oldNode!, [path.join(dir, 'bin/run.js'), ...args], {cwd: dir, encoding: 'utf8', env, timeout: 60_000})
}

describe('a checkout on an older system Node', {skip: oldNode ? false : `no Node older than ${required} on this machine`}, () => {
  test('with .node/ present: version, ingest validate (fast paths) and an oclif command run on it', () => {
    const dir = checkout(true)
    const v = run(dir, ['version'])
    assert.equal(v.status, 0, v.stderr)
    assert.match(v.stdout, new RegExp(`node ${process.version} `))
    const ok = run(dir, ['ingest', 'validate', path.join(ROOT, 'test/fixtures/examples/image_classification.yaml')])
    assert.equal(ok.status, 0, ok.stderr)
    // an oclif command's exit code comes through (2: a flag error)
    const bad = run(dir, ['dataset', 'list', '--no-such-flag'])
    assert.equal(bad.status, 2, bad.stderr)
    assert.doesNotMatch(bad.stderr, /needs Node\.js/)
  })

  test('without .node/: one line naming the Node it needs, exit 1', () => {
    const r = run(checkout(false), ['version'])
    assert.equal(r.status, 1)
    assert.match(r.stderr, /needs Node\.js >= /)
  })
})
