// Teardown: Sandbox.stop() must leave no process behind — not a container, not an exec in flight, not
// a restarting container, not something a container forked into its own session. A leftover bwrap
// once kept a test process alive after a failed assertion.
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import {PassThrough} from 'node:stream'
import {test} from 'node:test'
import {startSandbox} from '../sandbox/index.js'
import type {KObject} from '../sandbox/types.js'
import {until} from '../helpers/until.js'

const PODS = {group: '', version: 'v1', resource: 'pods'}

/**
 * Processes on the host whose argv contains `marker`, and (after stop) bwrap children of this test
 * process: while the sandbox runs, its mysql-client pod is one of those, legitimately.
 */
function leftovers(marker: string, bwrapChildren = true): string[] {
  const out: string[] = []
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean)
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (argv.some((a) => a.includes(marker)) || (bwrapChildren && ppid === process.pid && argv[0]?.endsWith('bwrap'))) out.push(`${pid}: ${argv.join(' ')}`)
    } catch {
      // gone meanwhile
    }
  }
  return out
}

test('stop() kills every process it started: containers, restarting containers, execs, escaped sessions; a deadline kill leaves nothing', async () => {
  const sb = await startSandbox()
  const marker = `654${process.pid % 10}`
  const mk = (name: string, restartPolicy: string, script: string, extra: Record<string, unknown> = {}) => sb.store.create(PODS, {
    apiVersion: 'v1', kind: 'Pod', metadata: {name, namespace: 'tracebloc'},
    spec: {restartPolicy, containers: [{name: 'c', image: 'alpine:3.20', command: ['/bin/sh', '-c', script]}], ...extra},
  })
  try {
    // SIGTERM path (activeDeadlineSeconds): the outer bwrap dies of it, the pid-namespace init inside
    // ignores it — the container must still be gone once the pod is Failed, long before stop()
    mk('deadline', 'Never', `exec sleep ${marker}5`, {activeDeadlineSeconds: 1, securityContext: {runAsUser: 65532, runAsGroup: 65532}})
    await until('the sleep', () => leftovers(`${marker}5`, false).length > 0)
    await until('DeadlineExceeded', () => (sb.store.get(PODS, 'tracebloc', 'deadline') as KObject | undefined)?.status?.phase === 'Failed')
    await until('the deadline pod\'s processes gone', () => leftovers(`${marker}5`, false).length === 0)

    mk('sleeper', 'Never', `exec sleep ${marker}1`)
    // restarts every time it exits: a restart must not be scheduled once stop() has begun
    mk('crasher', 'Always', `sleep 0.2; exit 1`)
    // forks into a new session (out of bwrap's process group)
    mk('escaper', 'Never', `setsid sleep ${marker}2 & exec sleep ${marker}3`)
    const running = (n: string) => sb.store.get(PODS, 'tracebloc', n)?.status?.phase === 'Running'
    await until('pods running', () => running('sleeper') && running('escaper'))
    await until('a restart', () => (sb.store.get(PODS, 'tracebloc', 'crasher') as KObject | undefined)?.status?.containerStatuses?.[0]?.restartCount >= 1)
    void sb.kubelet.exec('tracebloc', 'sleeper', undefined, ['sleep', `${marker}4`], {stdout: new PassThrough()}, new AbortController().signal)
    await until('all sleeps started', () => [1, 2, 3, 4].every((i) => leftovers(`${marker}${i}`, false).length > 0))
  } finally {
    await sb.stop()
  }
  // a restart timer that fired late would show up here
  await new Promise((r) => setTimeout(r, 700))
  assert.deepEqual(leftovers(marker), [])
})
