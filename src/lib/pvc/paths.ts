// The paths on client-pvc, in one place: where the volume is mounted, the ingestor's dataset dirs and
// locks, and the CLI's staging root (docs/protocol.md#pvc-layout).
// Every path the CLI removes on client-pvc is built here, from a name that passed the table-name rule and
// a fixed prefix/suffix, and checked once more to be one entry directly under its intended parent. A name
// read from the cluster or the PVC that would step out (`..`, `/`, NUL, a newline, a leading dot, empty)
// is refused before any `rm` is run.
import {randomBytes} from 'node:crypto'
import path from 'node:path'

import {CliError, ExitCode} from '../output/errors.js'
import {quoted as printable} from '../output/printable.js'
import {isTableName} from '../schema/table-name.js'

/** Where every pod of the release (ingestor, stage pod) mounts client-pvc. */
export const SHARED_MOUNT = '/data/shared'
export const SHARED = SHARED_MOUNT
/** The CLI's own directory on the volume: staged copies the ingestor reads from. */
export const STAGING_DIR = '.tracebloc-staging'
export const STAGING_ROOT = `${SHARED_MOUNT}/${STAGING_DIR}`
/** The persistent per-table work dir next to a staged copy (matches the Go CLI's `<table>.staging-*` sweep pattern). */
export const RESUME_SUFFIX = '.staging-resume'
/** The ingestor's per-table lock file is `<SHARED_MOUNT>/<INGEST_LOCK_PREFIX><table>.lock`. */
export const INGEST_LOCK_PREFIX = '.tracebloc-ingest-'

export interface StagingPaths {
  root: string
  dest: string
  /** Persistent per-table work dir (matches the Go CLI's `<table>.staging-*` sweep pattern). */
  work: string
  backup: string
  lock: string
}

/** A push's paths in the staging root: the staged copy, its work dir, a swap backup and the staging lock. */
export function stagingPaths(table: string, runHex = randomBytes(4).toString('hex')): StagingPaths {
  const dest = `${STAGING_ROOT}/${table}`
  return {root: STAGING_ROOT, dest, work: `${dest}${RESUME_SUFFIX}`, backup: `${dest}.old-${runHex}`, lock: `${STAGING_ROOT}/.${table}.lock`}
}

/** Where the ingest config points the ingestor for `table`: the staged copy (no name check: the plan checked it). */
export const stagingPrefix = (table: string) => `${STAGING_ROOT}/${table}`

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
export const ingestLockPath = (name: string) => childOf(SHARED, `${INGEST_LOCK_PREFIX}${table(name)}.lock`, {hidden: true})

/** A partial staged copy `<table><suffix>` (suffix `.staging-…` or `.old-…`) in the staging root. */
export function partialCopyDir(name: string, suffix: string): string {
  if (!PARTIAL_SUFFIX_RE.test(suffix)) throw refuse(printable(`${name}${suffix}`), 'not a partial staged copy')
  return childOf(STAGING_ROOT, `${table(name)}${suffix}`)
}
