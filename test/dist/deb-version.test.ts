// The .deb's Version field: dpkg must order releases and prereleases the way semver does, so that
// `apt install` of a newer package always upgrades. Checked with dpkg itself (fast; no packing).
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import path from 'node:path'
import {test} from 'node:test'
import {fileURLToPath, pathToFileURL} from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const script = pathToFileURL(path.join(root, 'scripts/release/pack-installers.mjs')).href
const hasDpkg = spawnSync('dpkg', ['--version']).status === 0

test('Debian versions sort like the semver versions they come from', {skip: hasDpkg ? false : 'dpkg is not installed'}, async () => {
  const {debVersion} = (await import(script)) as {debVersion: (v: string) => string}
  assert.equal(debVersion('1.2.3'), '1.2.3-1')
  assert.equal(debVersion('1.2.3-rc.1'), '1.2.3~rc.1-1')
  // Ascending semver order.
  const order = ['0.9.10', '0.10.0', '1.0.0-alpha.1', '1.0.0-beta.2', '1.0.0-rc.1', '1.0.0-rc.2', '1.0.0', '1.0.1', '1.1.0']
  for (let i = 1; i < order.length; i++) {
    const [a, b] = [debVersion(order[i - 1]), debVersion(order[i])]
    const r = spawnSync('dpkg', ['--compare-versions', a, 'lt', b])
    assert.equal(r.status, 0, `dpkg does not sort ${a} (${order[i - 1]}) before ${b} (${order[i]})`)
  }
  assert.throws(() => debVersion('v1.2'), /not a release version/)
})
