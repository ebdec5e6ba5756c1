// The bad-input corpus's machinery: a case is data (arguments, files to create, env, sandbox faults,
// the expected exit code and a pattern naming the problem); this runs it as a real process and checks
// what every failure must satisfy: the documented exit code, a message naming the problem, no stack
// trace, no token-like string, and no stage pod or scratch directory left in the cluster.
import assert from 'node:assert/strict'
import {spawn, spawnSync} from 'node:child_process'
import {chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const BIN = path.join(ROOT, 'bin/run.js')

export interface Run {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/**
 * How this process can run the CLI so that file modes bind it (chmod 000 means unreadable), or why it
 * cannot. Root reads anything through CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH: first choice is root
 * without those two capabilities (setpriv), which reaches the checkout wherever it sits; second is
 * the unprivileged uid 65534, which only works when it can enter every directory up to the Node
 * binary and the checkout (a checkout under a 0700 home cannot).
 */
export type ModesBind = {as: 'self'} | {as: 'setpriv'} | {as: 'uid'; uid: number} | {as: 'none'; reason: string}
const DROP_DAC = ['--bounding-set=-dac_override,-dac_read_search', '--inh-caps=-dac_override,-dac_read_search']
const NOBODY = 65534
let modesBind: ModesBind | undefined
export function howModesBind(): ModesBind {
  if (modesBind) return modesBind
  if (process.getuid?.() !== 0) return (modesBind = {as: 'self'})
  // A probe file of mode 000: the way works when node starts, loads bin/run.js's folder and is refused the file.
  const {dir, remove} = tempDir('tb-modes-')
  try {
    const probe = path.join(dir, 'probe')
    writeFileSync(probe, 'x')
    chmodSync(probe, 0o000)
    chmodSync(dir, 0o755)
    const script = `const fs=require('fs');fs.accessSync(${JSON.stringify(BIN)},fs.constants.R_OK);try{fs.readFileSync(${JSON.stringify(probe)});process.exit(3)}catch(e){process.exit(e.code==='EACCES'?0:4)}`
    const viaSetpriv = spawnSync('setpriv', [...DROP_DAC, process.execPath, '-e', script], {stdio: 'ignore'})
    if (viaSetpriv.status === 0) return (modesBind = {as: 'setpriv'})
    const viaUid = spawnSync(process.execPath, ['-e', script], {stdio: 'ignore', uid: NOBODY, gid: NOBODY})
    if (viaUid.status === 0) return (modesBind = {as: 'uid', uid: NOBODY})
    return (modesBind = {
      as: 'none',
      reason: `running as root, setpriv cannot drop CAP_DAC_OVERRIDE (${viaSetpriv.error?.message ?? `exit ${viaSetpriv.status}`}) and uid ${NOBODY} cannot reach ${process.execPath} or ${ROOT}`,
    })
  } finally {
    remove()
  }
}

/** Run the built CLI; input for stdin (ignored when undefined). */
export function run(args: string[], opts: {env?: Record<string, string>; input?: string | Buffer; cwd?: string; uid?: number; dropDac?: boolean; timeoutMs?: number} = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const [cmd, pre] = opts.dropDac ? ['setpriv', [...DROP_DAC, process.execPath]] : [process.execPath, []]
    const child = spawn(cmd, [...pre, BIN, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: {...process.env, NO_COLOR: '1', TRACEBLOC_SKIP_NEW_VERSION_CHECK: 'true', ...opts.env},
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      ...(opts.uid === undefined ? {} : {uid: opts.uid, gid: opts.uid}),
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout!.on('data', (d: Buffer) => out.push(d))
    child.stderr!.on('data', (d: Buffer) => err.push(d))
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => undefined) // the CLI may stop reading early
      child.stdin!.end(opts.input)
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8')})
    })
  })
}

/** Files of a case: path (relative to the case dir) → content; a trailing / makes a folder. */
export type Files = Record<string, string | Buffer>

export function writeFiles(dir: string, files: Files): void {
  for (const [rel, content] of Object.entries(files)) {
    if (content === undefined) continue // a case removing a file of the base dataset
    const p = path.join(dir, rel)
    if (rel.endsWith('/')) {
      mkdirSync(p, {recursive: true})
      continue
    }
    mkdirSync(path.dirname(p), {recursive: true})
    writeFileSync(p, content)
  }
}

export function tempDir(prefix = 'tb-robust-'): {dir: string; remove: () => void} {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix))
  return {dir, remove: () => rmSync(dir, {recursive: true, force: true})}
}

// A Node stack frame ("    at fn (file.js:1:2)") or an uncaught-error banner
const STACK = /^\s+at .+(:\d+:\d+\)?|\(node:internal)|Uncaught|node:internal\/|\[ERR_[A-Z_]+\]/m
// JWT-shaped strings, bearer headers, the sandbox's tokens (passed in)
const JWT = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/

/** What every handled failure must look like. */
export function assertClean(r: Run, expect: {code: number; message?: RegExp; secrets?: string[]; maxOutput?: number}, label: string): void {
  const all = r.stdout + r.stderr
  const show = `${label}\n--- exit ${r.code} signal ${r.signal}\n--- stdout\n${r.stdout.slice(0, 3000)}\n--- stderr\n${r.stderr.slice(0, 3000)}`
  assert.equal(r.code, expect.code, `exit code: ${show}`)
  if (expect.message) assert.match(all, expect.message, `message naming the problem: ${show}`)
  assert.doesNotMatch(all, STACK, `no stack trace: ${show}`)
  assert.doesNotMatch(all, JWT, `no token-like string: ${show}`)
  assert.doesNotMatch(all, /Bearer\s+[A-Za-z0-9._~+/=-]{8,}/, `no bearer token: ${show}`)
  for (const s of expect.secrets ?? []) assert.ok(!all.includes(s), `a secret leaked: ${label}`)
  assert.ok(all.length <= (expect.maxOutput ?? 64 * 1024), `output stays bounded (${all.length} chars): ${label}\n${all.slice(0, 2000)}`)
}

/** Run `fn` over items with at most `limit` at once. */
export async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!)
  }
  await Promise.all(Array.from({length: Math.min(limit, items.length)}, worker))
}
