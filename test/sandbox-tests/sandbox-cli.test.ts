// `npm run sandbox` as a user runs it: --help, and stopping it through the process the user started
// (npm). SIGINT or SIGTERM to npm, or npm dying outright, must stop every process the sandbox
// started and remove its temp directory and kubeconfig. Linux only (the kubelet runs bubblewrap).
import assert from 'node:assert/strict'
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, test} from 'node:test'
import {fileURLToPath} from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const linux = process.platform === 'linux'
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
const work = mkdtempSync(path.join(os.tmpdir(), 'sandbox-cli-'))
after(() => rmSync(work, {recursive: true, force: true}))

/** Every live descendant of `pid` (from /proc). */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>()
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue
    try {
      const ppid = Number(/^\d+ \(.*\) \S (\d+)/s.exec(readFileSync(`/proc/${e}/stat`, 'utf8'))?.[1])
      children.set(ppid, [...(children.get(ppid) ?? []), Number(e)])
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = []
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c)
      walk(c)
    }
  }
  walk(pid)
  return out
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) if (cond()) return true
  return cond()
}

/** Starts `npm run sandbox`, waits for "sandbox ready"; returns npm's process, its tree and the sandbox's files. */
async function startSandbox(name: string) {
  const kubeconfig = path.join(work, name)
  const child = spawn(npm, ['run', 'sandbox', '--', '--kubeconfig', kubeconfig], {cwd: root, stdio: ['ignore', 'pipe', 'pipe']})
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (out += d))
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
  assert.ok(await until(() => out.includes('sandbox ready'), 60_000), `sandbox never became ready:\n${out}`)
  const pvc = /client-pvc: (\S+)/.exec(out)?.[1]
  assert.ok(pvc)
  const sandboxDir = pvc.slice(0, pvc.indexOf('/pvcs/'))
  const tree = descendants(child.pid!)
  assert.ok(tree.length > 0)
  return {child, tree, sandboxDir, kubeconfig, exited, output: () => out}
}

test('npm run sandbox -- --help: the options, users and faults; exit 0', {skip: process.platform === 'win32' ? 'the sandbox script is for POSIX shells' : false}, () => {
  const r = spawnSync(npm, ['run', '--silent', 'sandbox', '--', '--help'], {cwd: root, encoding: 'utf8'})
  assert.equal(r.status, 0, r.stderr)
  for (const s of ['--kubeconfig PATH', '--legacy-secret', 'SANDBOX_FAULTS', 'sandbox-reader', 'test/fixtures/reference/samples', 'object-store.env', 'AWS_CA_BUNDLE']) assert.ok(r.stdout.includes(s), s)
})

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  test(`${sig} to npm stops the sandbox and everything it started`, {skip: linux ? false : 'the sandbox runs on Linux only'}, async () => {
    const sb = await startSandbox(`kc-${sig}`)
    const storeEnv = path.join(path.dirname(sb.kubeconfig), 'object-store.env')
    assert.match(readFileSync(storeEnv, 'utf8'), /^export AWS_ENDPOINT_URL=https:/m)
    sb.child.kill(sig)
    await sb.exited
    assert.ok(await until(() => sb.tree.every((p) => !alive(p)), 20_000), `still running: ${sb.tree.filter(alive).join(', ')}\n${sb.output()}`)
    assert.match(sb.output(), new RegExp(`${sig}: stopping sandbox`))
    assert.equal(existsSync(sb.sandboxDir), false, 'the sandbox directory is removed')
    assert.equal(existsSync(sb.kubeconfig), false, 'the kubeconfig is removed')
    assert.equal(existsSync(storeEnv), false, 'object-store.env is removed')
  })
}

test('npm killed outright: the sandbox notices and stops itself', {skip: linux ? false : 'the sandbox runs on Linux only'}, async () => {
  const sb = await startSandbox('kc-kill')
  sb.child.kill('SIGKILL')
  await sb.exited
  assert.ok(await until(() => sb.tree.every((p) => !alive(p)), 20_000), `still running: ${sb.tree.filter(alive).join(', ')}`)
  assert.equal(existsSync(sb.sandboxDir), false)
})
