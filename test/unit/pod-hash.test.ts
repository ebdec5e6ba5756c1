// Which hash the stage pod checks with: the probe's parsing, and the probe itself run by real busybox
// shells (the sandbox's alpine busybox 1.37 hashes sha256 with the CPU's SHA instructions, 1.35 does not).
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {test} from 'node:test'

import {chooseHash, hashProbeScript} from '../../src/lib/staging/pod-hash.js'
import {ALPINE_BUSYBOX, BUSYBOX} from '../sandbox/kubelet/rootfs.js'

test('sha256 when the pod hashes it at most 1.5× as slowly as md5 (CPU or wall time), md5 otherwise or when unsure', () => {
  assert.equal(chooseHash('sha256sum cpu 0.02 0.00\nmd5sum cpu 0.06 0.00', ''), 'sha256')
  assert.equal(chooseHash('sha256sum cpu 0.20 0.03\nmd5sum cpu 0.06 0.03', ''), 'md5')
  assert.equal(chooseHash('sha256sum wall 100.10 100.14\nmd5sum wall 100.14 100.22', ''), 'sha256')
  assert.equal(chooseHash('sha256sum wall 100.10 100.40\nmd5sum wall 100.40 100.50', ''), 'md5')
  // no probe output, one hash missing, garbage: the safe choice
  assert.equal(chooseHash(undefined, ''), 'md5')
  assert.equal(chooseHash('sha256sum cpu 0.01 0.00', ''), 'md5')
  assert.equal(chooseHash('sha256sum cpu x y\nmd5sum cpu 0.06 0.00', ''), 'md5')
  // TRACEBLOC_STAGE_HASH pins it either way
  assert.equal(chooseHash('sha256sum cpu 0.20 0.03\nmd5sum cpu 0.06 0.03', 'sha256'), 'sha256')
  assert.equal(chooseHash('sha256sum cpu 0.02 0.00\nmd5sum cpu 0.06 0.00', 'md5'), 'md5')
})

const probe = (busybox: string) => execFileSync(busybox, ['sh', '-c', `set -e\n${hashProbeScript()}`], {encoding: 'utf8'})

test('the probe on busybox 1.35 (software sha256) picks md5', () => {
  const out = probe(BUSYBOX)
  assert.match(out, /^@@HASH\nsha256sum cpu [\d.]+ [\d.]+\nmd5sum cpu [\d.]+ [\d.]+\n$/)
  assert.equal(chooseHash(out, ''), 'md5')
})

test('the probe on busybox 1.37 (alpine 3.20-like, SHA instructions) picks sha256', {skip: existsSync(ALPINE_BUSYBOX) ? false : `no ${ALPINE_BUSYBOX} (node scripts/sandbox-deps.mjs alpine-busybox)`}, () => {
  const out = probe(ALPINE_BUSYBOX)
  assert.equal(chooseHash(out, ''), 'sha256', out)
})

test('a pod without sha256sum or md5sum: the probe prints nothing usable and never fails the script', () => {
  const out = execFileSync(BUSYBOX, ['sh', '-c', `set -e\nsha256sum() { return 127; }\nmd5sum() { return 127; }\n${hashProbeScript().replaceAll('$h', 'no_such_hash_$h')}\necho done`], {encoding: 'utf8'})
  assert.match(out, /done\n$/)
  assert.equal(chooseHash(out, ''), 'md5')
})
