// Runs the built CLI (bin/run.js → dist) as a real process, as users do.
import {spawn} from 'node:child_process'
import {existsSync, readdirSync} from 'node:fs'
import path from 'node:path'
import {after, before} from 'node:test'
import {fileURLToPath} from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const SAMPLES = 'test/fixtures/reference/samples'
export const CATS_DOGS = path.join(SAMPLES, 'image_classification/data')

export interface CliRun {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  json?: any
}

export interface RunOptions {
  env?: Record<string, string>
  /** Send this signal once `when(stderr+stdout)` first returns true. */
  interrupt?: {signal: NodeJS.Signals; when: (output: string) => boolean}
  timeoutMs?: number
}

export function runCli(args: string[], opts: RunOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/run.js'), ...args], {
      cwd: ROOT,
      env: {...process.env, NO_COLOR: '1', TRACEBLOC_SKIP_NEW_VERSION_CHECK: 'true', ...opts.env},
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    let sent = false
    const check = () => {
      if (opts.interrupt && !sent && opts.interrupt.when(stdout + stderr)) {
        sent = true
        child.kill(opts.interrupt.signal)
      }
    }
    child.stdout.on('data', (d) => {
      stdout += d
      check()
    })
    child.stderr.on('data', (d) => {
      stderr += d
      check()
    })
    // `when` may also watch something other than the output (files on the PVC): ask it every 100 ms too
    const poll = opts.interrupt ? setInterval(check, 100) : undefined
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 180_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      clearInterval(poll)
      let json: any
      if (args.includes('--json')) {
        try {
          json = JSON.parse(stdout)
        } catch {
          json = undefined
        }
      }
      resolve({code, signal, stdout, stderr, json})
    })
  })
}

type Sandbox = import('../sandbox/index.js').Sandbox

/** One sandbox per test file: started before its first test, stopped after its last. */
export function sandboxPerFile(opts?: import('../sandbox/index.js').SandboxOptions): () => Sandbox {
  let sb: Sandbox | undefined
  before(async () => {
    const {startSandbox} = await import('../sandbox/index.js')
    sb = await startSandbox(opts)
  })
  after(async () => {
    await sb?.stop()
  })
  return () => sb!
}

/**
 * What a run may not leave in the cluster: stage pods and per-run scratch directories
 * (`<table>.staging-<hex>`, `<table>.old-<hex>`). The resumable `<table>.staging-resume` work dir is kept on purpose.
 */
export function leftovers(sb: Sandbox): {pods: string[]; scratch: string[]} {
  const pods = sb.store.list({group: '', version: 'v1', resource: 'pods'}, {namespace: sb.namespace, labelSelector: 'tracebloc.io/component=stage-pod'}).items
  const staging = path.join(sb.pvcDir, '.tracebloc-staging')
  const scratch = existsSync(staging) ? readdirSync(staging).filter((e) => /\.(staging|old)-/.test(e) && !e.endsWith('.staging-resume')) : []
  return {pods: pods.map((p) => p.metadata.name), scratch}
}
