// The README's two commands on a machine whose only Node is older than the project needs: a copy
// of the checkout (the files a clone has: tracked and untracked-not-ignored, so local edits are
// tested too) without node_modules, dist or .node, run with that old Node and its npm first on
// PATH. `npm run demo` and then `npm test -- <one file>` must each set everything up themselves
// (scripts/bootstrap.cjs) and succeed. The npm cache is the user's, so repeated runs are quick.
// Heavy (two `npm ci`s, two builds, the demo: ~1-4 min on 2 busy cores), so it runs only with TRACEBLOC_TEST_DIST=1 (.ci/run).
// Locally: TRACEBLOC_TEST_DIST=1 npm test -- test/dist/bootstrap.test.ts
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, describe, test} from 'node:test'
import {fileURLToPath} from 'node:url'

import {copyCheckout, run} from './checkout.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const enabled = process.env.TRACEBLOC_TEST_DIST === '1'
const required = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).engines.node as string).replace(/^>=\s*/, '')

const version = (v: string) => v.replace(/^v/, '').split('.').map(Number)
const older = (a: number[], b: number[]) => a[0] !== b[0] ? a[0] < b[0] : a[1] !== b[1] ? a[1] < b[1] : a[2] < b[2]

/** A `node` on this machine (PATH, then the usual system places) older than engines.node, with npm beside it. */
function findOldNode(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/bin', '/usr/local/bin', '/bin']
  for (const dir of dirs) {
    const node = path.join(dir, 'node')
    if (!dir || dir.includes(`${path.sep}.node${path.sep}`) || !existsSync(node) || !existsSync(path.join(dir, 'npm'))) continue
    try {
      const v = execFileSync(node, ['-v'], {encoding: 'utf8'}).trim()
      if (older(version(v), version(required))) return node
    } catch {
      // not runnable
    }
  }
  return undefined
}

const oldNode = enabled ? findOldNode() : undefined

describe('README commands from nothing on an old Node (TRACEBLOC_TEST_DIST=1)', {skip: !enabled ? 'set TRACEBLOC_TEST_DIST=1 (as .ci/run does)' : !oldNode ? `no Node older than ${required} with npm on this machine` : false}, () => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'tracebloc-fresh-'))
  after(() => rmSync(work, {recursive: true, force: true}))
  const checkout = path.join(work, 'checkout')
  // Only the old Node's directory and the system's tools: no Node from .node/ anywhere on PATH.
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_|^TRACEBLOC_|^NODE_OPTIONS$|^NODE_TEST_CONTEXT$/i.test(k)) env[k] = v
  env.PATH = [path.dirname(oldNode ?? '/usr/bin'), ...(process.env.PATH ?? '').split(path.delimiter).filter((d) => d && !d.includes(`${path.sep}.node${path.sep}`) && !d.includes('node_modules'))].join(path.delimiter)
  env.npm_config_update_notifier = 'false' // a fresh home has no notifier state: keep npm's notice off the last line

  const fresh = () => {
    for (const d of ['node_modules', 'dist', '.node', 'oclif.manifest.json']) rmSync(path.join(checkout, d), {recursive: true, force: true})
  }
  const setupLine = new RegExp(`^setup: Node v[\\d.]+ is older than this project needs \\(>= ${required.replaceAll('.', '\\.')}\\); fetched Node v[\\d.]+ from the npm registry in \\.node/ and running with it$`, 'm')

  test('a copy of the checkout', () => {
    copyCheckout(root, checkout)
    fresh()
    assert.ok(existsSync(path.join(checkout, 'scripts/bootstrap.cjs')))
  })

  test('npm run demo: fetches Node, installs, builds, pushes the sample, exit 0', async () => {
    const r = await run('npm', ['run', 'demo'], checkout, env)
    assert.equal(r.code, 0, r.out)
    assert.match(r.out, setupLine)
    assert.match(r.out, /^setup: installing the dependencies \(npm ci\)$/m)
    assert.match(r.out, /Ingestion complete — 6 records in the table from 576 of 576 rows/)
    // the stage pod was asked which hash to check with (sha256 on the sandbox's alpine busybox 1.37, md5 on 1.35)
    assert.match(r.out, /Staged 7 files .*every file verified in the pod \((sha256|md5)\)/)
    assert.doesNotMatch(r.out, /EBADENGINE|\n\s+at .*:\d+:\d+\)?\n/)
  })

  test('npm test: the same from nothing, ending with the `N passed, N failed` line', async () => {
    fresh()
    const r = await run('npm', ['test', '--', 'test/unit/errors.test.ts'], checkout, env)
    assert.equal(r.code, 0, r.out)
    assert.match(r.out, setupLine)
    assert.match(r.out.trimEnd().split('\n').at(-1) ?? '', /^[1-9]\d* passed, 0 failed$/)
    assert.equal(r.out.trimEnd().split('\n').at(-2), '0 skipped')
  })
})
