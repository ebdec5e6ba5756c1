// Replacing a tarball-layout install (install.sh's <prefix>/lib/tracebloc, or an unpacked release
// tarball) in place. Nothing of the install is touched until the new copy is downloaded, matched
// against the signed SHA256SUMS, unpacked next to it and has run `version` on this machine; then
// two renames on the same filesystem swap it in, and the old copy stays as <root>.previous for
// `tracebloc upgrade --rollback`. A cut download, a bad hash or Ctrl-C leaves the old version as it was.
import {createHash} from 'node:crypto'
import {spawnSync} from 'node:child_process'
import {createWriteStream, existsSync, mkdtempSync, renameSync, rmSync} from 'node:fs'
import path from 'node:path'
import {Readable, Transform} from 'node:stream'
import {pipeline} from 'node:stream/promises'

import {CliError, ExitCode} from '../output/errors.js'
import {fetchOk, type SumsEntry} from './releases.js'

export const previousDir = (root: string) => `${root}.previous`

/** The files of a new copy: its launcher, and the version it reports. */
function launcher(dir: string): string {
  return path.join(dir, 'bin', process.platform === 'win32' ? 'tracebloc.cmd' : 'tracebloc')
}

function localEnv(message: string, hint: string, cause?: unknown): CliError {
  return new CliError(message, {exitCode: ExitCode.LOCAL_ENV, reason: 'install_not_writable', hint, cause})
}

export interface TarballUpgrade {
  root: string
  entry: SumsEntry
  dir: string
  version: string
  timeoutMs: number
  /** Registers a cleanup to run if the user interrupts; returns its remover. */
  onCleanup: (fn: () => void) => () => void
  signal?: AbortSignal
  note: (line: string) => void
}

export async function upgradeTarball(u: TarballUpgrade): Promise<{previous: string}> {
  const parent = path.dirname(u.root)
  let work: string
  try {
    // Next to the install, so the final renames stay on one filesystem (atomic).
    work = mkdtempSync(path.join(parent, `.${path.basename(u.root)}.upgrade-`))
  } catch (error) {
    throw localEnv(`cannot write next to ${u.root}: ${(error as NodeJS.ErrnoException).code}`, 'run it as the user who installed tracebloc (install.sh as root installs into /usr/local: use sudo)', error)
  }
  const cleanup = () => rmSync(work, {recursive: true, force: true})
  const unregister = u.onCleanup(cleanup)
  try {
    const file = path.join(work, u.entry.file)
    u.note(`downloading ${u.dir}/${u.entry.file}`)
    const res = await fetchOk(`${u.dir}/${u.entry.file}`, u.timeoutMs)
    const hash = createHash('sha256')
    let bytes = 0
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk)
        bytes += chunk.length
        cb(null, chunk)
      },
    })
    try {
      await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), tap, createWriteStream(file), {signal: u.signal})
    } catch (error) {
      if (u.signal?.aborted) throw error
      throw new CliError(`the download of ${u.entry.file} was cut after ${bytes} bytes`, {
        exitCode: ExitCode.SUBMIT,
        reason: 'download_failed',
        hint: 'run `tracebloc upgrade` again; the installed version was not changed',
        cause: error,
      })
    }
    const got = hash.digest('hex')
    if (got !== u.entry.sha256) {
      throw new CliError(`CHECKSUM MISMATCH for ${u.entry.file}: expected ${u.entry.sha256}, got ${got}`, {
        exitCode: ExitCode.SUBMIT,
        reason: 'checksum_mismatch',
        hint: 'the download is corrupt or was tampered with; the installed version was not changed',
      })
    }
    const unpacked = path.join(work, 'unpacked')
    const {mkdirSync} = await import('node:fs')
    mkdirSync(unpacked)
    const tar = await import('tar')
    try {
      await tar.x({file, cwd: unpacked, strict: true})
    } catch (error) {
      throw new CliError(`cannot unpack ${u.entry.file}: ${(error as Error).message}`, {exitCode: ExitCode.SUBMIT, reason: 'bad_release', hint: 'the release file is damaged; the installed version was not changed', cause: error})
    }
    const fresh = path.join(unpacked, 'tracebloc')
    if (!existsSync(launcher(fresh))) throw new CliError(`${u.entry.file} holds no tracebloc/bin/tracebloc`, {exitCode: ExitCode.SUBMIT, reason: 'bad_release', hint: 'the installed version was not changed'})
    // The new copy must run here (its bundled Node, this CPU) before it replaces anything.
    const smoke = spawnSync(launcher(fresh), ['version', '--json'], {encoding: 'utf8', timeout: 60_000, shell: process.platform === 'win32', env: {...process.env, TRACEBLOC_NO_UPDATE_CHECK: '1'}})
    let reported: string | undefined
    try {
      reported = (JSON.parse(smoke.stdout) as {version?: string}).version
    } catch {
      // not JSON: reported below with its stderr
    }
    if (smoke.status !== 0 || reported !== u.version) {
      throw new CliError(`the downloaded ${u.version} does not run on this machine (${(smoke.stderr || smoke.stdout || smoke.error?.message || '').trim().split('\n')[0]})`, {
        exitCode: ExitCode.SUBMIT,
        reason: 'bad_release',
        hint: 'the installed version was not changed; report this with `tracebloc version` output',
      })
    }
    // The swap: synchronous, so a signal cannot land between the two renames.
    const previous = previousDir(u.root)
    try {
      rmSync(previous, {recursive: true, force: true})
      renameSync(u.root, previous)
    } catch (error) {
      throw localEnv(`cannot move ${u.root} aside: ${(error as NodeJS.ErrnoException).code}`, 'run it as the user who installed tracebloc', error)
    }
    try {
      renameSync(fresh, u.root)
    } catch (error) {
      renameSync(previous, u.root)
      throw localEnv(`cannot move the new version into ${u.root}: ${(error as NodeJS.ErrnoException).code}`, 'the installed version was restored', error)
    }
    return {previous}
  } finally {
    unregister()
    cleanup()
  }
}

/** Swap <root> and <root>.previous back. */
export function rollback(root: string): {restored: string} {
  const previous = previousDir(root)
  if (!existsSync(launcher(previous))) {
    throw new CliError(`no previous version at ${previous}`, {exitCode: ExitCode.LOCAL_ENV, reason: 'no_previous_version', hint: 'only an install upgraded by `tracebloc upgrade` keeps one'})
  }
  const aside = `${root}.rollback-${process.pid}`
  try {
    renameSync(root, aside)
    renameSync(previous, root)
    renameSync(aside, previous)
  } catch (error) {
    if (!existsSync(root) && existsSync(aside)) renameSync(aside, root)
    throw localEnv(`cannot swap ${root} and ${previous}: ${(error as NodeJS.ErrnoException).code}`, 'run it as the user who installed tracebloc', error)
  }
  return {restored: root}
}
