// A staging session's proof of ownership. The per-table lock on client-pvc names a random session id and the
// stage pod, but anyone who can write to the volume can write a lock, so its content proves nothing. What
// this machine's CLI started is recorded locally instead (one small 0600 file per session, under the cache
// dir): a lock is broken while its pod still runs only when such a record shows that this machine made that
// very pod for that very session and the process that made it is dead. A forged lock, or a lock of another
// machine with the same hostname, finds no record here and is left alone.
import {randomBytes} from 'node:crypto'
import {mkdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {cacheDir} from './hash-cache.js'

export interface SessionRecord {
  pid: number
  namespace: string
  pod: string
}

const SESSION_ID = /^[0-9a-f]{32}$/

export const newSessionId = (): string => randomBytes(16).toString('hex')

const recordPath = (session: string, dir: string) => path.join(dir, 'stage-sessions', session)

/** Record (or move to a new pod) this process's session; best effort: without it a killed run's lock waits for its pod to end. */
export function rememberSession(session: string, r: SessionRecord, dir = cacheDir()): void {
  try {
    const file = recordPath(session, dir)
    mkdirSync(path.dirname(file), {recursive: true, mode: 0o700})
    writeFileSync(`${file}.tmp`, JSON.stringify(r), {mode: 0o600})
    renameSync(`${file}.tmp`, file)
  } catch {
    // no cache dir: nothing to prove later
  }
}

export function recalledSession(session: string, dir = cacheDir()): SessionRecord | undefined {
  if (!SESSION_ID.test(session)) return undefined
  try {
    const r = JSON.parse(readFileSync(recordPath(session, dir), 'utf8')) as Partial<SessionRecord>
    if (typeof r.pid === 'number' && typeof r.namespace === 'string' && typeof r.pod === 'string') return {pid: r.pid, namespace: r.namespace, pod: r.pod}
  } catch {
    // none, or unreadable: not provably ours
  }
  return undefined
}

export function forgetSession(session: string, dir = cacheDir()): void {
  if (SESSION_ID.test(session)) rmSync(recordPath(session, dir), {force: true})
}

/** Fields of a lock line (`session=… pod=… host=… pid=…`); values are single words. */
export function lockField(holder: string, key: string): string | undefined {
  for (const word of holder.split(/\s+/)) if (word.startsWith(`${key}=`)) return word.slice(key.length + 1)
  return undefined
}

/** A Kubernetes object name (RFC 1123 subdomain): anything else in a lock is not a pod of ours. */
export const isPodName = (s: string): boolean => s.length <= 253 && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(s)
