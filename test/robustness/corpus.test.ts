// The bad-input corpus, local half: every case fails on this machine before any cluster is contacted
// (ingest validate input, push flags, dataset content, kubeconfigs). Cases are data (local-cases.ts);
// each runs the built CLI as a real process and must give the documented exit code, a message naming
// the problem, no stack trace, no token, bounded output. Cases run a few at a time.
import {chmodSync, symlinkSync} from 'node:fs'
import path from 'node:path'
import {after, describe, test, type TestContext} from 'node:test'

import {assertClean, howModesBind, run, tempDir, writeFiles} from './harness.js'
import {DATASET_CASES, FLAG_CASES, KUBECONFIG_CASES, type LocalCase, TOKENS, VALIDATE_CASES} from './local-cases.js'

const cleanups: Array<() => void> = []
after(() => {
  for (const c of cleanups) c()
})

async function runCase(c: LocalCase, t: TestContext): Promise<void> {
  // Unreadable files mean something only when file modes bind the CLI (not for root with its capabilities).
  const modes = c.unreadable ? howModesBind() : {as: 'self' as const}
  if (modes.as === 'none') {
    t.skip(modes.reason)
    return
  }
  const {dir, remove} = tempDir()
  cleanups.push(remove)
  writeFiles(dir, c.files ?? {})
  for (const [link, target] of c.links ?? []) symlinkSync(target, path.join(dir, link))
  const sub = (s: string) => s.replaceAll('$D', dir)
  const uid = modes.as === 'uid' ? modes.uid : undefined
  if (c.unreadable) {
    // the unprivileged uid must reach the case dir (its parent is a private temp dir when TMPDIR is one)
    if (uid !== undefined) chmodSync(dir, 0o755)
    for (const p of c.unreadable) chmodSync(path.join(dir, p), 0o000)
  }
  const env = Object.fromEntries(Object.entries(c.env ?? {}).map(([k, v]) => [k, sub(v)]))
  const r = await run(c.args.map(sub), {input: c.stdin, env: {...(uid === undefined ? {} : {HOME: dir}), ...env}, uid, dropDac: modes.as === 'setpriv'})
  assertClean(r, {code: c.code, message: c.message, secrets: TOKENS}, c.name)
}

for (const [title, cases] of [
  ['ingest validate input', VALIDATE_CASES],
  ['dataset push flags', FLAG_CASES],
  ['dataset content', DATASET_CASES],
  ['kubeconfig', KUBECONFIG_CASES],
] as const) {
  describe(`bad input: ${title}`, {concurrency: 3}, () => {
    for (const c of cases) test(c.name, (t) => runCase(c, t))
  })
}

test('the corpus holds at least 150 cases with the signal and sandbox ones', async () => {
  const {SANDBOX_CASE_COUNT} = await import('./sandbox-cases.js')
  const {SIGNAL_CASE_COUNT} = await import('./signal-cases.js')
  const local = VALIDATE_CASES.length + FLAG_CASES.length + DATASET_CASES.length + KUBECONFIG_CASES.length
  const total = local + SANDBOX_CASE_COUNT + SIGNAL_CASE_COUNT
  if (total < 150) throw new Error(`only ${total} cases (${local} local, ${SANDBOX_CASE_COUNT} sandbox, ${SIGNAL_CASE_COUNT} signals)`)
})
