// The update notice: at most once a day, one line on stderr after a command finished, when a newer
// release exists. The network check never runs in the command's process: a detached child
// (check-worker.ts) refreshes a small cache file at most once a day, and the next run reads it. So
// it adds no start-up time and nothing when offline. Quiet with --json, off a terminal, in CI, and
// with TRACEBLOC_NO_UPDATE_CHECK or DO_NOT_TRACK.
import {mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {cacheDir} from '../config/paths.js'
import {type Channel, upgradeCommand} from './channel.js'
import {compareVersions, isVersion} from './version.js'

export {quietReason} from './quiet.js'

export const DAY_MS = 24 * 60 * 60 * 1000

export interface CheckCache {
  /** When the last check started (ms); the next one waits a day from here, whatever its outcome. */
  checked_at?: number
  latest?: string
  source?: 'npm' | 'releases'
  /** When the notice was last shown, and for which version. */
  notified_at?: number
}

export const cacheFile = (env: NodeJS.ProcessEnv = process.env) => path.join(cacheDir(env), 'update-check.json')

export function readCache(file: string): CheckCache {
  try {
    const c = JSON.parse(readFileSync(file, 'utf8')) as CheckCache
    return typeof c === 'object' && c !== null ? c : {}
  } catch {
    return {}
  }
}

export function writeCache(file: string, c: CheckCache): void {
  try {
    mkdirSync(path.dirname(file), {recursive: true})
    const tmp = `${file}.${process.pid}.tmp`
    writeFileSync(tmp, JSON.stringify(c) + '\n')
    renameSync(tmp, file) // a reader never sees half a file
  } catch {
    // an unwritable cache only means the notice may repeat
  }
}

export function noticeLine(current: string, latest: string, channel: Channel, releasesUrl: string): string {
  const how = channel === 'tarball' ? 'tracebloc upgrade' : upgradeCommand(channel, latest, releasesUrl)
  return `A new tracebloc is available: ${current} → ${latest}. Upgrade: ${how}  (TRACEBLOC_NO_UPDATE_CHECK=1 turns this off)`
}

/** What to do after a command: the line to print (if any) and whether to start a background check. */
export function decide(cache: CheckCache, current: string, now: number): {notice?: string; check: boolean} {
  const newer = cache.latest !== undefined && isVersion(cache.latest) && compareVersions(cache.latest, current) > 0
  const due = cache.notified_at === undefined || now - cache.notified_at >= DAY_MS || now < cache.notified_at
  const check = cache.checked_at === undefined || now - cache.checked_at >= DAY_MS || now < cache.checked_at
  return {notice: newer && due ? cache.latest : undefined, check}
}
