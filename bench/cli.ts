// The built CLI as the benches run it: bin/run.js on dist/, no colour, no update check, and its cache and
// state in the bench's own scratch folder (never the user's ~/.cache or ~/.local/state).
import {spawn} from 'node:child_process'
import path from 'node:path'

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')

export interface BenchRun {
  code: number | null
  /** stdout parsed as JSON (undefined when it is not). */
  json: any
  stderr: string
}

/** Runs `tracebloc <args>` with `env` added, its XDG cache and state under `scratch`. */
export function runCli(args: string[], scratch: string, env: Record<string, string> = {}): Promise<BenchRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, 'bin/run.js'), ...args], {
      env: {...process.env, XDG_CACHE_HOME: path.join(scratch, 'cache'), XDG_STATE_HOME: path.join(scratch, 'state'), ...env, NO_COLOR: '1', TRACEBLOC_SKIP_NEW_VERSION_CHECK: 'true'},
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.on('close', (code) => {
      let json
      try {
        json = JSON.parse(out)
      } catch {
        json = undefined
      }
      resolve({code, json, stderr: err})
    })
  })
}
