// The content manifest (`<sha256>  <path>` lines, sha256sum's format), the per-batch checksum entries
// (the same format with md5, for busybox md5sum -c in the pod), batching, and the plan that decides what
// must be sent.
import type {TarEntry} from './tar.js'

/** Hidden files in the staged root: the ingestor only reads labels.csv and the sidecar dirs. */
export const MANIFEST_NAME = '.tracebloc-manifest'
export const VERIFIED_NAME = '.tracebloc-verified'

export interface HashedEntry extends TarEntry {
  /** Known before sending (cache hit or pre-hash); otherwise filled while the tar stream reads the file. */
  sha256?: string
  mtimeMs?: number
}

export function manifestLine(sha256: string, name: string): string {
  return `${sha256}  ${name}\n`
}

/**
 * Exact byte length of a checksum file for these names (64 hex digits for sha256, 32 for md5) — known before
 * any hash is, so a tar header (and `head -c N` framing) can be written first.
 */
export function checksumFileSize(names: string[], hexDigits = 64): number {
  let n = 0
  for (const name of names) n += hexDigits + 2 + Buffer.byteLength(name) + 1
  return n
}

/** Parse `<sha256>  <path>` lines; later lines win (the verified list is append-only). */
export function parseManifest(text: string): Map<string, string> {
  const out = new Map<string, string>()
  // line by line, without a million-element array of them
  for (let at = 0; at < text.length; ) {
    let end = text.indexOf('\n', at)
    if (end < 0) end = text.length
    const line = text.slice(at, end)
    at = end + 1
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line)
    if (m) out.set(m[2], m[1])
  }
  return out
}

export function checkStageableName(name: string): void {
  if (name.includes('\n') || name.includes('\\') || name.startsWith('/') || name.split('/').includes('..') || name.split('/').some((s) => s.startsWith('.tb-batch-') || s === MANIFEST_NAME || s === VERIFIED_NAME)) {
    throw new Error(`cannot stage a file named ${JSON.stringify(name)}`)
  }
}

export interface BatchLimits {
  bytes: number
  files: number
}

/** Group entries into batches of at most `bytes` file bytes and `files` files (a larger file is a batch of its own). */
export function makeBatches<T extends {size: number}>(entries: T[], limits: BatchLimits): T[][] {
  const out: T[][] = []
  let cur: T[] = []
  let bytes = 0
  for (const e of entries) {
    if (cur.length > 0 && (bytes + e.size > limits.bytes || cur.length >= limits.files)) {
      out.push(cur)
      cur = []
      bytes = 0
    }
    cur.push(e)
    bytes += e.size
  }
  if (cur.length) out.push(cur)
  return out
}

export type Disposition = 'send' | 'verified' | 'from-dest'

export interface StagePlan {
  /** Files to transfer. */
  send: HashedEntry[]
  /** Already in the work dir and verified by an earlier (interrupted) run, same hash. */
  verified: HashedEntry[]
  /** Unchanged since the staged copy: hard-linked from it. */
  fromDest: HashedEntry[]
  /**
   * Among `send`: in the work dir with the planned size but not on its verified list (an interrupted run's
   * files that landed before their batch was checked). The pod checks them against the local sha256 and the
   * ones that match are kept instead of sent.
   */
  landed: HashedEntry[]
  /** Paths whose local hash is unknown but that the cluster holds: hash locally first, then re-plan. */
  needHash: HashedEntry[]
  /** The staged copy already equals the dataset: no copy, no swap. */
  unchanged: boolean
}

/**
 * Decide per file. `dest` is the staged copy's manifest (written only after a verified swap), `verified`
 * the interrupted work dir's list, `present` the sizes of the files in that work dir. A file is skipped only on an exact sha256 match.
 */
export function planStaging(entries: HashedEntry[], dest: Map<string, string> | undefined, verified: Map<string, string> | undefined, present?: Map<string, number>): StagePlan {
  const plan: StagePlan = {send: [], landed: [], verified: [], fromDest: [], needHash: [], unchanged: false}
  for (const e of entries) {
    const d = dest?.get(e.name)
    const v = verified?.get(e.name)
    const landed = present?.get(e.name) === e.size
    if (!e.sha256) {
      if (d || v || landed) plan.needHash.push(e)
      else plan.send.push(e)
    } else if (v === e.sha256) plan.verified.push(e)
    else if (d === e.sha256) plan.fromDest.push(e)
    else {
      plan.send.push(e)
      if (landed) plan.landed.push(e)
    }
  }
  // Judged against the staged copy alone: a leftover work dir holding the same content changes nothing.
  plan.unchanged = dest !== undefined && dest.size === entries.length && entries.every((e) => e.sha256 !== undefined && dest.get(e.name) === e.sha256)
  return plan
}

export function manifestText(entries: Array<{name: string; sha256?: string}>): string {
  return entries.map((e) => manifestLine(e.sha256!, e.name)).join('')
}

const TEXT_EXT = new Set(['.csv', '.tsv', '.txt', '.json', '.jsonl', '.ndjson', '.xml', '.yaml', '.yml', '.html', '.md', '.svg', '.log', '.tsf', '.arff'])

/** Text compresses several-fold; JPEG/PNG/archives do not (measured in bench/staging.mjs). */
export function isCompressible(name: string): boolean {
  const i = name.lastIndexOf('.')
  return i >= 0 && TEXT_EXT.has(name.slice(i).toLowerCase())
}
