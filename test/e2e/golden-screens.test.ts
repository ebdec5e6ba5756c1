// The main screens, word for word: push (plain lines and on a terminal), list, show, runs and
// cluster info, against goldens in test/fixtures/golden/. What varies from run to run (keys, UUIDs,
// Job and pod suffixes, ports, the cluster UID, times, rates) is normalised first; column alignment is
// checked on the real output. list, show, runs and cluster info must read the same on a terminal.
// After a deliberate change: TRACEBLOC_UPDATE_GOLDEN=1 npm test -- test/e2e/golden-screens.test.ts
import assert from 'node:assert/strict'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, test} from 'node:test'

import {cliOnPty, hasPty} from './pty.js'
import {CATS_DOGS, ROOT, runCli, SAMPLES, sandboxPerFile} from './push-cli.js'

const sandbox = sandboxPerFile()
const TABULAR = path.join(SAMPLES, 'tabular_classification/tabular_classification_sample_in_csv_format.csv')
const GOLDEN = path.join(ROOT, 'test/fixtures/golden')
const UPDATE = process.env.TRACEBLOC_UPDATE_GOLDEN === '1'
const home = mkdtempSync(path.join(os.tmpdir(), 'tb-golden-'))
const env = {XDG_CACHE_HOME: path.join(home, 'cache'), TRACEBLOC_STAGE_POD_TIMEOUT: '30', TRACEBLOC_POD_START_TIMEOUT: '60'}
after(() => rmSync(home, {recursive: true, force: true}))

/** Same-length placeholders keep columns where they were; variable-length values become a token. */
function normalise(s: string): string {
  const same = (re: RegExp, ch: string) => (t: string) => t.replace(re, (m) => ch.repeat(m.length))
  const steps: Array<(t: string) => string> = [
    (t) => t.replace(/\r\n?/g, '\n'),
    (t) => t.replace(new RegExp(escape(sandbox().kubeconfigPath), 'g'), '<KUBECONFIG>'),
    same(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g, 'U'),
    same(/\b[0-9a-f]{32}\b/g, 'K'),
    (t) => t.replace(/(ingest-job-)([0-9a-f]{10})(-[a-z0-9]{5})?/g, (_m, a: string, b: string, c?: string) => a + 'J'.repeat(b.length) + (c ? '-' + 'P'.repeat(c.length - 1) : '')),
    (t) => t.replace(/(tracebloc-stage-[a-z0-9-]+-)([0-9a-f]{8})\b/g, (_m, a: string, b: string) => a + 'S'.repeat(b.length)),
    (t) => t.replace(/(tracebloc-jobs-manager-)[a-z0-9]+-[a-z0-9]+/g, '$1<POD>'),
    (t) => t.replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:<PORT>'),
    (t) => t.replace(/\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\b/g, '<TIME>'),
    (t) => t.replace(/\bjust now\b|\b\d+[mhd] ago\b/g, '<AGO>'),
    (t) => t.replace(/\b\d+(?:\.\d+)? (?:B|KiB|MiB|GiB)\/s\b/g, '<RATE>'),
    (t) => t.replace(/(?<= )\d+(?:m\d\d)?s(?=[ :]|$)/gm, '<DUR>'),
    (t) => t.replace(/\b\d+ streams\b/g, '<N> streams'),
    (t) => t.replace(/\[\d\d:\d\d\]/g, '[<T>]'),
    // staging progress lines are throttled by the clock: whether one shows is not part of the screen
    (t) => t.split('\n').filter((l) => !/files sent, .* verified|verifying in the pod|hashing changed files|waiting for stage pod/.test(l)).join('\n'),
  ]
  return steps.reduce((t, f) => f(t), s).trimEnd() + '\n'
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
/** Tables: runs of spaces are compared as one gap (their width depends on the normalised values); alignment is checked apart. */
const gaps = (s: string) => s.replace(/ {2,}/g, '  ')

function golden(name: string, actual: string): void {
  const file = path.join(GOLDEN, `${name}.txt`)
  if (UPDATE || !existsSync(file)) {
    if (!UPDATE) assert.fail(`no golden ${file}: run with TRACEBLOC_UPDATE_GOLDEN=1 to write it, then review it`)
    mkdirSync(GOLDEN, {recursive: true})
    writeFileSync(file, actual)
    return
  }
  assert.equal(gaps(actual), gaps(readFileSync(file, 'utf8')), `${name} differs from ${file}`)
}

/** Every row's cells start where the header's columns start (kubectl-style tables). */
function assertAligned(lines: string[], header: RegExp): void {
  const at = lines.findIndex((l) => header.test(l))
  assert.ok(at >= 0, `no header ${header} in:\n${lines.join('\n')}`)
  const starts = [...lines[at]!.matchAll(/(?:^| {2,})(\S)/g)].map((m) => m.index! + m[0].length - 1)
  for (const row of lines.slice(at + 1)) {
    if (!row.trim() || !/\S {2,}\S/.test(row) || /^[\sA-Z]+$/.test(row)) break
    for (const s of starts.slice(1)) assert.match(row.slice(s - 2, s + 1), /^ {2}\S$/, `row not aligned with the header at column ${s}:\n${lines[at]}\n${row}`)
  }
}

const kc = () => ['--kubeconfig', sandbox().kubeconfigPath]

async function onTerminal(args: string[]): Promise<{screen: string; code: number}> {
  const r = await cliOnPty(args, {env, prompt: 'a prompt no screen shows', answers: [], idleSeconds: 120})
  return {screen: r.screen.replace(/\r\n?/g, '\n'), code: r.code}
}

test('golden screens: push, list, show, runs and cluster info, off and on a terminal', {skip: hasPty ? false : 'python3 with pty is not installed'}, async () => {
  const push = await runCli(['dataset', 'push', CATS_DOGS, '--table', 'golden_images', '--category', 'image_classification', ...kc()], {env})
  assert.equal(push.code, 0, push.stdout + push.stderr)
  assert.doesNotMatch(push.stderr, /Warning/, 'a clean push says what matters in its plan and summary, not in warnings after it')
  golden('push-plain', normalise(push.stdout))

  const term = await onTerminal(['dataset', 'push', TABULAR, '--table', 'golden_tabular', '--category', 'tabular_classification', ...kc()])
  assert.equal(term.code, 0, term.screen)
  // the final frame of the task list and the summary after it
  golden('push-terminal', normalise(term.screen.slice(term.screen.lastIndexOf('✔ Validated'))))

  for (const [name, args, header] of [
    ['list', ['dataset', 'list'], /^NAME\s+CATEGORY/],
    ['show', ['dataset', 'show', 'golden_images'], /^\s+INGESTOR ID\s+TABLE/],
    ['runs', ['dataset', 'runs'], /^KEY\s+TABLE/],
    ['cluster-info', ['cluster', 'info'], /^\s+✔ create pods\s/],
  ] as Array<[string, string[], RegExp]>) {
    const plain = await runCli([...args, ...kc()], {env})
    assert.equal(plain.code, 0, plain.stdout + plain.stderr)
    assertAligned(plain.stdout.split('\n'), header)
    golden(name, normalise(plain.stdout))
    const t = await onTerminal([...args, ...kc()])
    assert.equal(t.code, 0, t.screen)
    // the same screen on a terminal (stderr notes are interleaved there: compare stdout's lines only)
    const lines = normalise(plain.stdout).split('\n').filter(Boolean)
    const shown = normalise(t.screen)
    for (const l of lines) assert.ok(gaps(shown).includes(gaps(l)), `${name} on a terminal lacks the line:\n${l}\n---\n${shown}`)
  }
})
