// `tracebloc upgrade` on an install script layout, against a local HTTPS release server serving two
// signed releases (test/e2e/release-server.ts): the check, the upgrade and rollback, and every way a
// download can go wrong — each leaves the installed version running and nothing behind.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {existsSync, readdirSync, rmSync} from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {assertBuilt} from './cli.js'
import {checkoutTmp, installScriptLayout} from './install-copies.js'
import {releaseKey, type ReleaseServer, startReleaseServer} from './release-server.js'

// The release layout's launchers are sh scripts and the certificate comes from openssl: checked on Linux.
const linux = process.platform === 'linux'
let work: string
let server: ReleaseServer
let key: {privateFile: string; publicFile: string}

before(async () => {
  if (!linux) return
  assertBuilt()
  work = checkoutTmp('upgrade-test-')
  key = releaseKey(path.join(work, 'key'))
  server = await startReleaseServer(work, ['0.1.0', '0.2.0'], key.privateFile)
})
after(async () => {
  await server?.close()
  if (work) rmSync(work, {recursive: true, force: true})
})

let n = 0
/** A fresh install.sh layout at version 0.1.0. */
function freshInstall(): {bin: string; lib: string; prefix: string} {
  const prefix = path.join(work, `prefix-${++n}`)
  return {...installScriptLayout(prefix, '0.1.0'), prefix}
}

interface Run {
  status: number | null
  stdout: string
  stderr: string
  json: () => Record<string, unknown>
}

/** Async: the release server lives in this process and must keep serving meanwhile. */
function run(bin: string, args: string[], env: Record<string, string> = {}, interruptWhen?: RegExp): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, {
      timeout: 120_000,
      env: {...process.env, NO_COLOR: '1', TRACEBLOC_SKIP_NEW_VERSION_CHECK: 'true', NODE_EXTRA_CA_CERTS: server.caFile, TRACEBLOC_UPGRADE_TRUSTED_KEY: key.publicFile, ...env},
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => {
      stderr += d
      if (interruptWhen?.test(stderr)) {
        interruptWhen = undefined
        child.kill('SIGINT')
      }
    })
    child.on('error', reject)
    child.on('close', (status) => resolve({status, stdout, stderr, json: () => JSON.parse(stdout) as Record<string, unknown>}))
  })
}

async function installedVersion(bin: string): Promise<string> {
  const r = await run(bin, ['version', '--json'])
  assert.equal(r.status, 0, r.stderr)
  return r.json().version as string
}

/** Nothing of an upgrade attempt is left next to the install. */
function leftovers(prefix: string): string[] {
  return readdirSync(path.join(prefix, 'lib')).filter((f) => f !== 'tracebloc')
}

describe('tracebloc upgrade: install script / tarball layout', {skip: !linux && 'needs Linux (sh launchers, openssl)'}, () => {
  test('--check reports the newer release and the channel, changes nothing', async () => {
    const i = freshInstall()
    const r = await run(i.bin, ['upgrade', '--check', '--json'], {TRACEBLOC_RELEASES_URL: server.url('good')})
    assert.equal(r.status, 0, r.stderr)
    const doc = r.json()
    assert.equal(doc.status, 'update_available')
    assert.equal(doc.current, '0.1.0')
    assert.equal(doc.target, '0.2.0')
    assert.equal(doc.channel, 'tarball')
    assert.equal(doc.install_root, i.lib)
    assert.equal(await installedVersion(i.bin), '0.1.0')
  })

  test('upgrade: verified, swapped in, the previous version kept; --rollback brings it back', async () => {
    const i = freshInstall()
    const r = await run(i.bin, ['upgrade', '--json'], {TRACEBLOC_RELEASES_URL: server.url('good')})
    assert.equal(r.status, 0, r.stderr + r.stdout)
    const doc = r.json()
    assert.equal(doc.status, 'upgraded')
    assert.equal(doc.signature, 'ed25519')
    assert.equal(await installedVersion(i.bin), '0.2.0')
    assert.deepEqual(leftovers(i.prefix), ['tracebloc.previous'])

    const again = await run(i.bin, ['upgrade', '--json'], {TRACEBLOC_RELEASES_URL: server.url('good')})
    assert.equal(again.status, 0, again.stderr)
    assert.equal(again.json().status, 'up_to_date')

    const back = await run(i.bin, ['upgrade', '--rollback'])
    assert.equal(back.status, 0, back.stderr)
    assert.equal(await installedVersion(i.bin), '0.1.0')
  })

  test('--version picks a release; the same version is nothing to do', async () => {
    const i = freshInstall()
    const r = await run(i.bin, ['upgrade', '--version', '0.1.0', '--json'], {TRACEBLOC_RELEASES_URL: server.url('good')})
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.json().status, 'up_to_date')
    const missing = await run(i.bin, ['upgrade', '--version', '9.9.9'], {TRACEBLOC_RELEASES_URL: server.url('good')})
    assert.equal(missing.status, 8)
    assert.match(missing.stderr, /HTTP 404/)
  })

  const faults: Array<{mirror: string; code: number; reason: string; message: RegExp; env?: Record<string, string>}> = [
    {mirror: 'tampered', code: 8, reason: 'checksum_mismatch', message: /CHECKSUM MISMATCH for tracebloc-v0\.2\.0-/},
    {mirror: 'cut', code: 8, reason: 'download_failed', message: /download of tracebloc-v0\.2\.0-.* was cut after \d+ bytes/},
    {mirror: 'badsig', code: 8, reason: 'signature_invalid', message: /SIGNATURE VERIFICATION FAILED/},
    {mirror: 'good', code: 3, reason: 'signature_unverifiable', message: /cannot verify the release signature/, env: {TRACEBLOC_UPGRADE_TRUSTED_KEY: ''}},
    {mirror: 'unsigned', code: 3, reason: 'signature_unverifiable', message: /cannot verify the release signature/},
  ]
  for (const f of faults) {
    test(`${f.mirror}${f.env ? ' (no trusted key, no cosign)' : ''}: exit ${f.code} ${f.reason}, the old version still runs, nothing left behind`, async () => {
      const i = freshInstall()
      const r = await run(i.bin, ['upgrade'], {TRACEBLOC_RELEASES_URL: server.url(f.mirror), PATH: path.dirname(process.execPath) + ':/usr/bin:/bin', ...f.env})
      assert.equal(r.status, f.code, r.stderr)
      assert.match(r.stderr, f.message)
      assert.doesNotMatch(r.stderr, /\n\s+at /) // no stack trace
      const j = await run(i.bin, ['upgrade', '--json'], {TRACEBLOC_RELEASES_URL: server.url(f.mirror), PATH: path.dirname(process.execPath) + ':/usr/bin:/bin', ...f.env})
      assert.equal(j.json().reason, f.reason)
      assert.equal(await installedVersion(i.bin), '0.1.0')
      assert.deepEqual(leftovers(i.prefix), [])
      assert.ok(existsSync(path.join(i.lib, 'bin/run.js')))
    })
  }

  test('Ctrl-C during the download: exit 130, the old version still runs, nothing left behind', async () => {
    const i = freshInstall()
    const r = await run(i.bin, ['upgrade'], {TRACEBLOC_RELEASES_URL: server.url('stall')}, /downloading .*\.tar\.gz/)
    assert.equal(r.status, 130, r.stderr)
    assert.equal(await installedVersion(i.bin), '0.1.0')
    assert.deepEqual(leftovers(i.prefix), [])
  })

  test('--skip-signature accepts an unsigned release; its sha256 is still checked', async () => {
    const i = freshInstall()
    const r = await run(i.bin, ['upgrade', '--skip-signature'], {TRACEBLOC_RELEASES_URL: server.url('unsigned'), TRACEBLOC_UPGRADE_TRUSTED_KEY: ''})
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stderr, /signature NOT verified/)
    assert.equal(await installedVersion(i.bin), '0.2.0')
  })
})
