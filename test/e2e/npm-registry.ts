// A real npm registry on loopback: verdaccio (pinned below), installed on first use into
// node_modules/.cache (not a project dependency: 300 packages only these tests need), with no
// uplinks, storage in the test's scratch directory, and one user whose token publishes.
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {existsSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import path from 'node:path'

import {root} from './cli.js'

const VERDACCIO = '6.10.4'
const home = path.join(root, 'node_modules/.cache/tracebloc-test-verdaccio')
const entry = path.join(home, 'node_modules/verdaccio/bin/verdaccio')

export function ensureVerdaccio(): void {
  if (existsSync(entry)) return
  const r = spawnSync('npm', ['install', '--prefix', home, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error', `verdaccio@${VERDACCIO}`], {encoding: 'utf8', timeout: 300_000})
  if (r.status !== 0 || !existsSync(entry)) throw new Error(`installing verdaccio@${VERDACCIO} failed: ${r.stderr}`)
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const {port} = s.address() as {port: number}
      s.close(() => resolve(port))
    })
  })
}

export interface Registry {
  url: string
  /** An npm user config (registry + the publishing token) for `npm --userconfig`. */
  npmrc: string
  stop: () => Promise<void>
}

export async function startRegistry(work: string): Promise<Registry> {
  ensureVerdaccio()
  const port = await freePort()
  const config = path.join(work, 'verdaccio.yaml')
  writeFileSync(config, [
    `storage: ${path.join(work, 'storage')}`,
    'auth:', '  htpasswd:', `    file: ${path.join(work, 'htpasswd')}`, '    max_users: 10',
    'uplinks: {}',
    'packages:', "  '**':", '    access: $all', '    publish: $authenticated',
    'log: {type: stdout, format: pretty, level: error}',
    'web: {enable: false}',
    '',
  ].join('\n'))
  const url = `http://127.0.0.1:${port}`
  const child: ChildProcess = spawn(process.execPath, [entry, '--config', config, '--listen', `127.0.0.1:${port}`], {stdio: 'ignore'})
  const stop = () => new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve()
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
  for (let i = 0; ; i++) {
    const ok = await fetch(`${url}/-/ping`).then((r) => r.ok, () => false)
    if (ok) break
    if (child.exitCode !== null || i > 300) {
      await stop()
      throw new Error('verdaccio did not start')
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  const res = await fetch(`${url}/-/user/org.couchdb.user:tester`, {
    method: 'PUT',
    headers: {'content-type': 'application/json'},
    body: JSON.stringify({name: 'tester', password: 'tester-password', type: 'user', roles: []}),
  })
  const {token} = (await res.json()) as {token?: string}
  if (!token) throw new Error(`verdaccio gave no token (HTTP ${res.status})`)
  const npmrc = path.join(work, 'npmrc')
  writeFileSync(npmrc, `registry=${url}/\n//127.0.0.1:${port}/:_authToken=${token}\nupdate-notifier=false\naudit=false\nfund=false\n`)
  return {url, npmrc, stop}
}

/** `npm <args>` against the registry (its own user config, no other npm settings from the test run). */
export function npm(reg: Registry, args: string[], cwd = root): {status: number | null; stdout: string; stderr: string} {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_config_')))
  const r = spawnSync('npm', [...args, '--userconfig', reg.npmrc, '--loglevel=error'], {cwd, encoding: 'utf8', timeout: 120_000, env: {...env, npm_config_registry: `${reg.url}/`}})
  return {status: r.status, stdout: r.stdout, stderr: r.stderr}
}
