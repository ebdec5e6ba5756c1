// Every path the CLI removes on client-pvc is built here, from a name that passed the table-name rule and
// a fixed prefix/suffix, and checked once more to be one entry directly under its intended parent. A name
// read from the cluster or the PVC that would step out (`..`, `/`, NUL, a newline, a leading dot, empty)
// is refused before any `rm` is run.
import path from 'node:path'

import {SHARED_MOUNT} from '../cluster/discovery.js'
import {CliError, ExitCode} from '../output/errors.js'
import {RESUME_SUFFIX, STAGING_ROOT} from '../staging/options.js'
import {isTableName, printable} from './names.js'

export {RESUME_SUFFIX, STAGING_ROOT}
export const SHARED = SHARED_MOUNT

/** Suffixes of partial staged copies an interrupted push leaves next to `<table>` in the staging root: the resumable work dir, other work dirs, swap backups. */
export const PARTIAL_SUFFIX_RE = /^\.(?:staging|old)-[A-Za-z0-9_-]{1,64}$/

function refuse(what: string, detail: string): CliError {
  return new CliError(`refusing to remove ${what}: ${detail}; nothing was removed`, {
    exitCode: ExitCode.STAGING,
    hint: 'the name came from the cluster or client-pvc and does not pass the table-name rule; check what wrote it',
    reason: 'unsafe_path',
  })
}

/**
 * `<parent>/<entry>`, only when `entry` is one plain directory entry: not empty, `.` or `..`, no `/`, no
 * NUL or other control character, no leading dot (our own hidden entries are built by the helpers below),
 * and the joined path's parent is exactly `parent`.
 */
export function childOf(parent: string, entry: string, o: {hidden?: boolean} = {}): string {
  const what = `${printable(entry)} under ${parent}`
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  if (entry === '' || entry === '.' || entry === '..' || entry.includes('/') || /[\u0000-\u001f\u007f]/.test(entry)) throw refuse(what, 'not a single directory entry')
  if (entry.startsWith('.') && !o.hidden) throw refuse(what, 'a name starting with a dot')
  if (entry.length > 255) throw refuse(what, 'longer than a file name can be')
  const full = path.posix.join(parent, entry)
  if (path.posix.dirname(full) !== parent || path.posix.basename(full) !== entry) throw refuse(what, `it would not stay directly under ${parent}`)
  return full
}

function table(name: string): string {
  if (!isTableName(name)) throw refuse(printable(name), 'not a valid table name')
  return name
}

/** Where the ingestor copies a dataset's files: /data/shared/<table>. */
export const datasetDir = (name: string) => childOf(SHARED, table(name))
/** The staged copy a push swaps into place: /data/shared/.tracebloc-staging/<table>. */
export const stagedCopyDir = (name: string) => childOf(STAGING_ROOT, table(name))
/** The ingestor's table lock: /data/shared/.tracebloc-ingest-<table>.lock. */
export const ingestLockPath = (name: string) => childOf(SHARED, `.tracebloc-ingest-${table(name)}.lock`, {hidden: true})

/** A partial staged copy `<table><suffix>` (suffix `.staging-…` or `.old-…`) in the staging root. */
export function partialCopyDir(name: string, suffix: string): string {
  if (!PARTIAL_SUFFIX_RE.test(suffix)) throw refuse(printable(`${name}${suffix}`), 'not a partial staged copy')
  return childOf(STAGING_ROOT, `${table(name)}${suffix}`)
}
