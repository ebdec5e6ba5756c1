import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {after, describe, test} from 'node:test'

import {detectInstall, upgradeCommand} from '../../src/lib/upgrade/channel.js'
import {DAY_MS, decide, quietReason} from '../../src/lib/upgrade/notice.js'
import {parseSums, sumsVersion, tarballEntry} from '../../src/lib/upgrade/releases.js'
import {pemBlocks} from '../../src/lib/upgrade/verify.js'
import {compareVersions} from '../../src/lib/upgrade/version.js'

const work = mkdtempSync(path.join(tmpdir(), 'tracebloc-upgrade-unit-'))
after(() => rmSync(work, {recursive: true, force: true}))

function dir(rel: string, files: string[] = ['package.json']): string {
  const d = path.join(work, rel)
  for (const f of files) {
    mkdirSync(path.dirname(path.join(d, f)), {recursive: true})
    writeFileSync(path.join(d, f), '')
  }
  return d
}

describe('install channel', () => {
  test('read from where the CLI lives', () => {
    assert.equal(detectInstall(dir('a/lib/node_modules/@tracebloc/cli')).channel, 'npm')
    assert.equal(detectInstall(dir('h/Cellar/tracebloc/0.1.0/libexec', ['bin/node'])).channel, 'homebrew')
    assert.equal(detectInstall(dir('s/scoop/apps/tracebloc/current', ['bin/node.exe'])).channel, 'scoop')
    assert.equal(detectInstall(dir('w/tracebloc', ['bin/node.exe', 'Uninstall.exe']), 'win32').channel, 'windows-installer')
    assert.equal(detectInstall(dir('t/lib/tracebloc', ['bin/node'])).channel, 'tarball')
    assert.equal(detectInstall(dir('c', ['.git/HEAD'])).channel, 'checkout')
    assert.equal(detectInstall(dir('u')).channel, 'unknown')
  })

  test('the command each channel needs', () => {
    assert.equal(upgradeCommand('npm', '0.2.0', 'R'), 'npm install -g @tracebloc/cli@0.2.0')
    assert.equal(upgradeCommand('homebrew', undefined, 'R'), 'brew update && brew upgrade tracebloc')
    assert.equal(upgradeCommand('scoop', undefined, 'R'), 'scoop update tracebloc')
    assert.equal(upgradeCommand('deb', '0.2.0', 'R', 'x64'), 'curl -fsSLO R/download/v0.2.0/tracebloc_amd64.deb && sudo apt install ./tracebloc_amd64.deb')
    assert.equal(upgradeCommand('macos-pkg', undefined, 'R', 'arm64'), 'curl -fsSLO R/latest/download/tracebloc-arm64.pkg && sudo installer -pkg tracebloc-arm64.pkg -target /')
    assert.equal(upgradeCommand('tarball', undefined, 'R'), undefined)
  })
})

test('versions: semver order, prereleases first', () => {
  const sorted = ['0.10.0', '0.2.0', '0.2.0-rc.10', '0.2.0-rc.2', '1.0.0', '0.2.0-alpha'].sort(compareVersions)
  assert.deepEqual(sorted, ['0.2.0-alpha', '0.2.0-rc.2', '0.2.0-rc.10', '0.2.0', '0.10.0', '1.0.0'])
})

test('SHA256SUMS: the version and this platform\'s tarball', () => {
  const h = 'a'.repeat(64)
  const entries = parseSums(`${h}  tracebloc-cli-0.3.0.tgz\n${h}  tracebloc-v0.3.0-abc1234-linux-x64.tar.gz\n${h} *tracebloc-v0.3.0-abc1234-darwin-arm64.tar.gz\nnoise\n`)
  assert.equal(entries.length, 3)
  assert.equal(sumsVersion(entries), '0.3.0')
  assert.equal(tarballEntry(entries, '0.3.0', 'darwin-arm64')?.file, 'tracebloc-v0.3.0-abc1234-darwin-arm64.tar.gz')
  assert.equal(tarballEntry(entries, '0.3.0', 'win32-x64'), undefined)
})

describe('update notice', () => {
  test('quiet under --json, off a terminal, in CI, with the opt-outs', () => {
    assert.equal(quietReason([], {}, true), undefined)
    assert.equal(quietReason(['--json'], {}, true), '--json')
    assert.equal(quietReason([], {}, false), 'not a terminal')
    assert.equal(quietReason([], {CI: 'true'}, true), 'CI')
    assert.equal(quietReason([], {CI: 'false'}, true), undefined)
    assert.equal(quietReason([], {DO_NOT_TRACK: '1'}, true), 'DO_NOT_TRACK')
    assert.equal(quietReason([], {TRACEBLOC_NO_UPDATE_CHECK: '1'}, true), 'TRACEBLOC_NO_UPDATE_CHECK')
  })

  test('at most once a day, and a check at most once a day', () => {
    const now = 10 * DAY_MS
    assert.deepEqual(decide({}, '0.1.0', now), {notice: undefined, check: true})
    assert.deepEqual(decide({checked_at: now - 1000, latest: '0.2.0'}, '0.1.0', now), {notice: '0.2.0', check: false})
    assert.deepEqual(decide({checked_at: now - 1000, latest: '0.2.0', notified_at: now - 1000}, '0.1.0', now), {notice: undefined, check: false})
    assert.deepEqual(decide({checked_at: now - DAY_MS, latest: '0.2.0', notified_at: now - DAY_MS}, '0.1.0', now), {notice: '0.2.0', check: true})
    assert.deepEqual(decide({checked_at: now, latest: '0.1.0'}, '0.1.0', now), {notice: undefined, check: false})
  })
})

test('trusted keys file: every PEM public-key block, a broken block before a good one dropped', () => {
  const block = (b: string) => `-----BEGIN PUBLIC KEY-----\n${b}\n-----END PUBLIC KEY-----`
  assert.deepEqual(pemBlocks(`# ours\n${block('AAA')}\ntext\n${block('BBB')}\n`, 'PUBLIC KEY'), [block('AAA'), block('BBB')])
  assert.deepEqual(pemBlocks(`-----BEGIN PUBLIC KEY-----\nbroken\n${block('CCC')}`, 'PUBLIC KEY'), [block('CCC')])
  assert.deepEqual(pemBlocks(`${block('DDD')}\n-----BEGIN PUBLIC KEY-----\nno end`, 'PUBLIC KEY'), [block('DDD')])
  assert.deepEqual(pemBlocks('-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----', 'PUBLIC KEY'), [])
})
