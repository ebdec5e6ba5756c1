// The npm channel and the update notice against a real npm registry on loopback (verdaccio) with
// two published versions of @tracebloc/cli, installed with `npm install -g --prefix`.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {assertBuilt} from './cli.js'
import {checkoutTmp, packageCopy} from './install-copies.js'
import {npm, type Registry, startRegistry} from './npm-registry.js'

const linux = process.platform === 'linux' // `script` (a pty) and the sh launchers
let work: string
let reg: Registry
let prefix: string
let bin: string

before(async () => {
  if (!linux) return
  assertBuilt()
  work = checkoutTmp('upgrade-npm-test-')
  reg = await startRegistry(work)
  // The package as published, without its dependencies: the install lies inside this checkout and
  // resolves them from its node_modules, so npm never needs the public registry.
  for (const v of ['0.1.0', '0.2.0']) {
    const dir = path.join(work, `pkg-${v}`)
    packageCopy(dir, v, {dependencies: false})
    const r = npm(reg, ['publish', '--ignore-scripts'], dir)
    assert.equal(r.status, 0, r.stderr)
  }
  prefix = path.join(work, 'prefix')
  const r = npm(reg, ['install', '-g', '--prefix', prefix, '@tracebloc/cli@0.1.0'])
  assert.equal(r.status, 0, r.stderr)
  bin = path.join(prefix, 'bin', 'tracebloc')
})
after(async () => {
  await reg?.stop()
  if (work) rmSync(work, {recursive: true, force: true})
})

const cache = () => path.join(work, 'cache')
const cacheFile = () => path.join(cache(), 'update-check.json')

/** The environment of a user on a laptop: nothing that silences the notice. */
function userEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_config_'))) as Record<string, string>
  for (const k of ['CI', 'DO_NOT_TRACK', 'TRACEBLOC_NO_UPDATE_CHECK', 'TRACEBLOC_SKIP_NEW_VERSION_CHECK', 'GITHUB_ACTIONS']) delete env[k]
  return {...env, NO_COLOR: '1', npm_config_registry: reg.url, TRACEBLOC_CACHE_HOME: cache(), TRACEBLOC_CONFIG_HOME: path.join(work, 'config'), ...extra}
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`

/** `tracebloc <args>` on a real pseudo-terminal (util-linux `script`); stdout and stderr both land on it. */
function onTty(args: string[], extra: Record<string, string> = {}): string {
  const r = spawnSync('script', ['-qec', [bin, ...args].map(quote).join(' '), '/dev/null'], {encoding: 'utf8', timeout: 60_000, env: userEnv(extra)})
  assert.equal(r.status, 0, r.stdout + r.stderr)
  return r.stdout
}

const NOTICE = /A new tracebloc is available: 0\.1\.0 → 0\.2\.0\. Upgrade: npm install -g @tracebloc\/cli@0\.2\.0/

async function waitForCheck(): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (existsSync(cacheFile()) && JSON.parse(readFileSync(cacheFile(), 'utf8')).latest) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error('the background check never wrote the latest version')
}

describe('npm install: upgrade and the update notice', {skip: !linux && 'needs Linux (script, sh launchers)'}, () => {
  test('upgrade --check finds the registry\'s latest and prints npm\'s command; that command upgrades', () => {
    const r = spawnSync(bin, ['upgrade', '--check', '--json'], {encoding: 'utf8', env: userEnv()})
    assert.equal(r.status, 0, r.stderr)
    const doc = JSON.parse(r.stdout) as Record<string, string>
    assert.equal(doc.channel, 'npm')
    assert.equal(doc.status, 'update_available')
    assert.equal(doc.current, '0.1.0')
    assert.equal(doc.latest, '0.2.0')
    assert.equal(doc.command, 'npm install -g @tracebloc/cli@0.2.0')
    // `upgrade` itself does not touch an npm install: it prints the command.
    const u = spawnSync(bin, ['upgrade'], {encoding: 'utf8', env: userEnv()})
    assert.equal(u.status, 0, u.stderr)
    assert.match(u.stdout, /npm install -g @tracebloc\/cli@0\.2\.0/)
    const missing = spawnSync(bin, ['upgrade', '--version', '0.3.0'], {encoding: 'utf8', env: userEnv()})
    assert.equal(missing.status, 2)
    assert.match(missing.stderr, /0\.3\.0 is not published/)

    const other = path.join(work, 'prefix-upgraded')
    assert.equal(npm(reg, ['install', '-g', '--prefix', other, '@tracebloc/cli@0.1.0']).status, 0)
    const [, , ...cmd] = doc.command.split(' ')
    const up = npm(reg, ['install', ...cmd, '--prefix', other])
    assert.equal(up.status, 0, up.stderr)
    const v = spawnSync(path.join(other, 'bin', 'tracebloc'), ['version', '--json'], {encoding: 'utf8', env: userEnv()})
    assert.equal(JSON.parse(v.stdout).version, '0.2.0')
  })

  test('the notice: checked in the background, shown on the next run, then not again that day', async () => {
    rmSync(cache(), {recursive: true, force: true})
    assert.doesNotMatch(onTty(['config', 'list']), /new tracebloc/)
    await waitForCheck()
    assert.match(onTty(['config', 'list']), NOTICE)
    assert.doesNotMatch(onTty(['config', 'list']), /new tracebloc/)
  })

  test('silent with --json, in CI, with TRACEBLOC_NO_UPDATE_CHECK or DO_NOT_TRACK, and off a terminal', () => {
    const armed = JSON.stringify({checked_at: Date.now(), latest: '0.2.0', source: 'npm'})
    writeFileSync(cacheFile(), armed)
    assert.doesNotMatch(onTty(['config', 'list', '--json']), /new tracebloc/)
    for (const env of [{CI: 'true'}, {TRACEBLOC_NO_UPDATE_CHECK: '1'}, {DO_NOT_TRACK: '1'}] as Array<Record<string, string>>) {
      assert.doesNotMatch(onTty(['config', 'list'], env), /new tracebloc/, JSON.stringify(env))
    }
    const piped = spawnSync(bin, ['config', 'list'], {encoding: 'utf8', env: userEnv()})
    assert.equal(piped.status, 0)
    assert.doesNotMatch(piped.stderr, /new tracebloc/)
    assert.equal(readFileSync(cacheFile(), 'utf8').trim(), armed) // nothing shown, nothing recorded
    assert.match(onTty(['config', 'list']), NOTICE) // and it was due all along
  })

  test('offline: the background check fails silently and nothing is shown', () => {
    rmSync(cache(), {recursive: true, force: true})
    const worker = path.join(prefix, 'lib/node_modules/@tracebloc/cli/dist/lib/upgrade/check-worker.js')
    const r = spawnSync(process.execPath, [worker, 'npm'], {encoding: 'utf8', env: userEnv({npm_config_registry: 'http://127.0.0.1:9'})})
    assert.equal(r.status, 0)
    assert.equal(r.stdout + r.stderr, '')
    assert.equal(existsSync(cacheFile()), false)
    assert.doesNotMatch(onTty(['config', 'list'], {npm_config_registry: 'http://127.0.0.1:9'}), /new tracebloc/)
  })
})

