// Runs the built CLI (bin/run.js → dist) as a real process, as users do.
import {spawn} from 'node:child_process'
import path from 'node:path'
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
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 180_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
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
