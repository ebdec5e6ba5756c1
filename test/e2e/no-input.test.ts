// --no-input on each command that can prompt, on a real terminal (where they would ask): no question
// is shown and the run fails with the documented code where an answer was needed (exit 3).
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, before, test} from 'node:test'

import {assertBuilt, root} from './cli.js'
import {startSandbox, type Sandbox} from '../sandbox/index.js'
import {cliOnPty, hasPty} from './pty.js'

const skip = hasPty ? false : 'python3 with pty is not installed'
const tabular = path.join(root, 'test/fixtures/reference/samples/tabular_regression/tabular_regression_sample_in_csv_format.csv')
const nowhere = {KUBECONFIG: '/nonexistent/kubeconfig'}
let sb: Sandbox | undefined
let home: string

before(async () => {
  assertBuilt()
  home = mkdtempSync(path.join(os.tmpdir(), 'tb-noinput-'))
  if (hasPty) sb = await startSandbox()
})
after(async () => {
  await sb?.stop()
  rmSync(home, {recursive: true, force: true})
})

test('push: the task question is not asked; exit 3 naming the choices', {skip}, async () => {
  const r = await cliOnPty(['dataset', 'push', tabular, '--table', 'ni', '--label-column', 'price', '--dry-run', '--no-input'], {env: nowhere, prompt: 'Task [', answers: ['1']})
  assert.equal(r.shown.length, 0, r.screen)
  assert.equal(r.code, 3, r.screen)
  assert.match(r.screen, /tabular_classification/)
})

test('delete: no confirmation question; exit 3 asking for --yes', {skip}, async () => {
  const r = await cliOnPty(['dataset', 'delete', 'some_table', '--no-input'], {env: nowhere, prompt: '[y/N]', answers: ['y']})
  assert.equal(r.shown.length, 0, r.screen)
  assert.equal(r.code, 3, r.screen)
  assert.match(r.screen, /--yes/)
})

test('cancel: no confirmation question; exit 3 asking for --yes', {skip}, async () => {
  const r = await cliOnPty(['dataset', 'cancel', 'some_table', '--no-input'], {env: nowhere, prompt: '[y/N]', answers: ['y']})
  assert.equal(r.shown.length, 0, r.screen)
  assert.equal(r.code, 3, r.screen)
  assert.match(r.screen, /--yes/)
})

test('a client in another namespace: not asked about (cluster info, list, runs); exit 3 naming -n', {skip}, async () => {
  const kc = path.join(home, 'other-ns.kubeconfig')
  const doc = JSON.parse(readFileSync(sb!.kubeconfigPath, 'utf8'))
  for (const c of doc.contexts) c.context.namespace = 'default'
  writeFileSync(kc, JSON.stringify(doc), {mode: 0o600})
  for (const args of [['cluster', 'info'], ['dataset', 'list'], ['dataset', 'runs']]) {
    const r = await cliOnPty([...args, '--kubeconfig', kc, '--no-input'], {env: {XDG_STATE_HOME: path.join(home, 'state'), XDG_CACHE_HOME: path.join(home, 'cache')}, prompt: 'Use namespace', answers: ['y']})
    assert.equal(r.shown.length, 0, `${args.join(' ')}: ${r.screen}`)
    assert.equal(r.code, 3, `${args.join(' ')}: ${r.screen}`)
    assert.match(r.screen, /pass -n tracebloc/)
  }
})
