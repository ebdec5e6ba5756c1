// The README's test command from a checkout under a directory only its owner can enter (mode 0700,
// like root's home or a `mktemp -d` dir): a copy of the checkout (the files a clone has) without
// node_modules, dist or .node, run with the machine's own Node first on PATH (an old one makes the
// set-up fetch Node into the checkout's .node/, inside the private dir). The cases that make files
// unreadable must pass there, not fail because an unprivileged user cannot reach the Node binary.
// Heavy (`npm ci`, a build, the bad-input corpus), so it runs only with TRACEBLOC_TEST_DIST=1 (.ci/run).
// Locally: TRACEBLOC_TEST_DIST=1 npm test -- test/dist/private-dir.test.ts
import assert from 'node:assert/strict'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, describe, test} from 'node:test'
import {fileURLToPath} from 'node:url'

import {copyCheckout, run} from './checkout.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const enabled = process.env.TRACEBLOC_TEST_DIST === '1'
const UNREADABLE = ['ingest validate: unreadable file', 'dataset: unreadable image', 'dataset: unreadable images/ folder', 'dataset: unreadable CSV']

/** The first `node` on PATH outside any checkout's .node/ (the machine's own), else the one running now. */
function systemNodeDir(): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && !dir.includes(`${path.sep}.node${path.sep}`) && !dir.includes('node_modules') && existsSync(path.join(dir, 'node')) && existsSync(path.join(dir, 'npm'))) return dir
  }
  return path.dirname(process.execPath)
}

describe('npm test from a checkout under a 0700 directory (TRACEBLOC_TEST_DIST=1)', {skip: enabled ? false : 'set TRACEBLOC_TEST_DIST=1 (as .ci/run does)'}, () => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'tracebloc-private-'))
  after(() => rmSync(work, {recursive: true, force: true}))
  const checkout = path.join(work, 'checkout')
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_|^TRACEBLOC_|^NODE_OPTIONS$|^NODE_TEST_CONTEXT$/i.test(k)) env[k] = v
  env.PATH = [systemNodeDir(), ...(process.env.PATH ?? '').split(path.delimiter).filter((d) => d && !d.includes(`${path.sep}.node${path.sep}`) && !d.includes('node_modules'))].join(path.delimiter)
  // a home of its own inside the private dir (its run checks that nothing lands in that home's cache), with
  // the user's npm cache so that the install stays quick
  const home = path.join(work, 'home')
  for (const k of Object.keys(env)) if (k.startsWith('XDG_')) delete env[k]
  env.HOME = home
  env.npm_config_update_notifier = 'false' // a new home has no notifier state: keep npm's notice off the last line

  test('a copy of the checkout in a private directory', () => {
    chmodSync(work, 0o700)
    copyCheckout(root, checkout)
    for (const d of ['node_modules', 'dist', '.node', 'oclif.manifest.json']) rmSync(path.join(checkout, d), {recursive: true, force: true})
    mkdirSync(home)
    writeFileSync(path.join(home, '.npmrc'), `cache=${process.env.TRACEBLOC_TEST_NPM_CACHE ?? process.env.npm_config_cache ?? path.join(os.homedir(), '.npm')}\n`)
    assert.equal(statSync(work).mode & 0o777, 0o700)
  })

  test('npm test -- the unreadable-file cases of the bad-input corpus pass, none skipped', async () => {
    const r = await run('npm', ['test', '--', '--test-name-pattern=unreadable', 'test/robustness/corpus.test.ts'], checkout, env)
    assert.equal(r.code, 0, r.out)
    for (const name of UNREADABLE) assert.match(r.out, new RegExp(`✔ ${name.replaceAll(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(`), `${name} passed:\n${r.out.slice(-4000)}`)
    assert.match(r.out.trimEnd().split('\n').at(-1) ?? '', new RegExp(`^${UNREADABLE.length} passed, 0 failed$`))
    assert.equal(r.out.trimEnd().split('\n').at(-2), '0 skipped')
  })
})
