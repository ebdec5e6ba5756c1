// What the tests that run the README's commands from a copy of the checkout share: the copy itself and
// a process run that collects its output.
import {execFileSync, spawn} from 'node:child_process'
import {copyFileSync, existsSync, mkdirSync, statSync} from 'node:fs'
import path from 'node:path'

/** Every file git tracks or would track (not ignored) in `root`, copied to `dest`, as a fresh clone plus uncommitted work. */
export function copyCheckout(root: string, dest: string): void {
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {cwd: root, encoding: 'utf8'}).split('\0').filter(Boolean)
  for (const f of files) {
    const from = path.join(root, f)
    if (!existsSync(from) || !statSync(from).isFile()) continue // deleted in the work tree
    mkdirSync(path.dirname(path.join(dest, f)), {recursive: true})
    copyFileSync(from, path.join(dest, f), 0)
  }
}

export interface Run {code: number | null; out: string}

/** Runs a command to its end; stdout and stderr together in `out`. */
export function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {cwd, env, stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({code, out}))
  })
}
