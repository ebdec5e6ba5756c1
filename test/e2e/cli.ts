// Runs the built CLI (bin/run.js → dist/) as a real process. `npm run build` must have run.
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import path from 'node:path'

export const root = path.resolve(import.meta.dirname, '../..')
export const bin = path.join(root, 'bin/run.js')

export interface CliRun {
  status: number | null
  stdout: string
  stderr: string
}

export function assertBuilt(): void {
  if (!existsSync(path.join(root, 'dist/lib/schema/generated/ingest-validator.js')) || !existsSync(path.join(root, 'oclif.manifest.json'))) {
    throw new Error('dist/ is missing or incomplete: run `npm run build` before the e2e tests')
  }
}

export function cli(args: string[], opts: {input?: string; env?: Record<string, string>; nodeArgs?: string[]} = {}): CliRun {
  const r = spawnSync(process.execPath, [...(opts.nodeArgs ?? []), bin, ...args], {
    cwd: root,
    input: opts.input ?? '',
    encoding: 'utf8',
    env: {...process.env, NO_COLOR: '1', TRACEBLOC_SKIP_NEW_VERSION_CHECK: 'true', ...opts.env},
  })
  return {status: r.status, stdout: r.stdout, stderr: r.stderr}
}
