// --bwlimit against the sandbox, whose link is far faster than the caps used here: the push's reported rate
// stays within 10 % above the cap with several streams sharing it (an upper bound only: a loaded machine can
// only make a push slower), a profile's bwlimit applies and the flag overrides it, and a value that is not
// a rate is exit 2 naming the accepted forms. The built CLI as a real process.
import assert from 'node:assert/strict'
import {copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, test} from 'node:test'

import {CATS_DOGS, leftovers, runCli, sandboxPerFile} from './push-cli.js'

const sandbox = sandboxPerFile()
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tb-push-bwlimit-'))
const env = {
  TRACEBLOC_STAGE_POD_TIMEOUT: '20',
  TRACEBLOC_POD_START_TIMEOUT: '20',
  XDG_CACHE_HOME: path.join(tmp, 'cache'),
  TRACEBLOC_CONFIG_HOME: path.join(tmp, 'config'),
  TRACEBLOC_PROFILE: '',
  TRACEBLOC_BWLIMIT: '',
  // small batches: many of them, so several streams run at once and share the cap
  TRACEBLOC_STAGE_BATCH_FILES: '16',
}
after(() => rmSync(tmp, {recursive: true, force: true}))

const KiB = 1024

/** 160 images (~4.6 MiB, JPEG: gzip would not shrink them), one per row, two labels. */
function images(): string {
  const dir = path.join(tmp, 'many')
  mkdirSync(path.join(dir, 'images'), {recursive: true})
  const rows = ['filename,label']
  for (let i = 0; i < 160; i++) {
    const label = i % 2 === 0 ? 'cat' : 'dog'
    copyFileSync(path.join(CATS_DOGS, 'images', `${label}${(i % 3) + 1}.jpeg`), path.join(dir, 'images', `img_${i}.jpeg`))
    rows.push(`img_${i}.jpeg,${label}`)
  }
  writeFileSync(path.join(dir, 'labels.csv'), rows.join('\n') + '\n')
  return dir
}

const pushArgs = (dir: string, table: string, extra: string[]) => ['dataset', 'push', dir, '--table', table, '--category', 'image_classification', '--label-column', 'label', '--json', ...extra]

test('--bwlimit holds the push within 10 % of the cap, with several streams sharing it', async () => {
  const cap = 512 * KiB
  const r = await runCli(pushArgs(images(), 'capped', ['--kubeconfig', sandbox().kubeconfigPath, '--bwlimit', '512KiB', '--compress', 'off']), {env})
  assert.equal(r.code, 0, r.stderr + r.stdout)
  assert.equal(r.json.status, 'succeeded')
  assert.deepEqual(r.json.bwlimit, {bytes_per_second: cap})
  const st = r.json.staged
  assert.ok(st.parallel >= 2, `streams: ${st.parallel}`)
  // what left this machine (tar framing included) and the file bytes the push reports, over the staging time
  assert.ok(st.wire_bytes / st.seconds <= 1.1 * cap, `wire ${st.wire_bytes} B in ${st.seconds} s = ${Math.round(st.wire_bytes / st.seconds / KiB)} KiB/s, cap 512 KiB/s`)
  assert.ok(st.sent_bytes / st.seconds <= 1.1 * cap, `sent ${st.sent_bytes} B in ${st.seconds} s`)
  assert.deepEqual(leftovers(sandbox()), {pods: [], scratch: []})
})

test("a profile's bwlimit applies to the push; --bwlimit overrides it, and off lifts it", async () => {
  const set = await runCli(['config', 'set', 'bwlimit', '2MiB'], {env})
  assert.equal(set.code, 0, set.stderr)
  // no cluster: the dry run's local half, with its ETA at the cap
  const none = ['--kubeconfig', path.join(tmp, 'no-kubeconfig')]
  const fromProfile = await runCli(pushArgs(CATS_DOGS, 'cats', ['--dry-run', ...none]), {env})
  assert.equal(fromProfile.code, 0, fromProfile.stderr)
  assert.deepEqual(fromProfile.json.bwlimit, {bytes_per_second: 2 << 20})
  const plan = fromProfile.json.dry_run
  assert.deepEqual(plan.bwlimit, {bytes_per_second: 2 << 20})
  assert.equal(plan.eta_seconds, Math.round(plan.totals.wire_bytes / (2 << 20)))

  const flag = await runCli(pushArgs(CATS_DOGS, 'cats', ['--dry-run', '--bwlimit', '50Mbit', ...none]), {env})
  assert.equal(flag.code, 0, flag.stderr)
  assert.deepEqual(flag.json.bwlimit, {bytes_per_second: 6_250_000})

  const off = await runCli(pushArgs(CATS_DOGS, 'cats', ['--dry-run', '--bwlimit', 'off', ...none]), {env})
  assert.equal(off.code, 0, off.stderr)
  assert.equal(off.json.bwlimit, undefined)
  assert.equal(off.json.dry_run.eta_seconds, undefined)

  // the plan a human reads names the cap
  const human = await runCli(['dataset', 'push', CATS_DOGS, '--table', 'cats', '--category', 'image_classification', '--dry-run', ...none], {env})
  assert.equal(human.code, 0, human.stderr)
  assert.match(human.stdout, /cap\s+2\.00 MiB\/s \(--bwlimit, all streams together\) → ETA about/)
})

test('a --bwlimit or profile value that is not a rate is exit 2 naming the accepted forms', async () => {
  for (const bad of ['fast', '8', '8Mb', '100B']) {
    const r = await runCli(['dataset', 'push', CATS_DOGS, '--table', 'cats', '--category', 'image_classification', '--bwlimit', bad, '--kubeconfig', sandbox().kubeconfigPath], {env})
    assert.equal(r.code, 2, `${bad}: ${r.stderr}`)
    assert.match(r.stderr, new RegExp(`--bwlimit: "${bad}"`))
    assert.match(r.stderr, bad === '100B' ? /lowest cap, 1 KiB\/s/ : /500KiB, 8MiB.*50Mbit/)
    assert.doesNotMatch(r.stderr, /\n\s+at /)
  }
  const json = await runCli(['dataset', 'push', CATS_DOGS, '--table', 'cats', '--category', 'image_classification', '--bwlimit', 'fast', '--json'], {env})
  assert.equal(json.code, 2)
  assert.equal(json.json.reason, 'bad_flag')
  const set = await runCli(['config', 'set', 'bwlimit', 'fast'], {env})
  assert.equal(set.code, 2, set.stderr)
  assert.match(set.stderr, /bwlimit: "fast" is not a rate/)
})
