// One staging session in the stage pod: execs with retries for transient failures (cut stream, 429/5xx,
// a deleted pod is recreated), the per-table lock, and what the volume already holds for the table.
import os from 'node:os'
import {Readable} from 'node:stream'

import {ExecRefused, ExecResult, ExecStreamCut, execInPod, shQuote} from '../cluster/exec.js'
import {apiFailure, sleep} from '../cluster/kube.js'
import {CliError, ExitCode} from '../output/errors.js'
import {MANIFEST_NAME, parseManifest} from './manifest.js'
import {availableHashes, chooseHash, HashAlgo, hashProbeScript, hashToolsScript} from './pod-hash.js'
import {STAGING_ROOT} from '../pvc/paths.js'
import type {StreamOptions} from './types.js'
import {stdinUnderCap} from './bandwidth.js'
import {RANGES_DIR, SWAP_UNVERIFIED, swapScript, VERIFIED_DIR} from './work-dir.js'
import {STAGE_CONTAINER, STAGE_LABELS} from '../pvc/stage-pod.js'
import {forgetSession, isPodName, lockField, newSessionId, recalledSession, rememberSession} from './stage-session.js'
import {TarEntry, tarSize, tarStream} from './tar.js'

type V1Pod = import('@kubernetes/client-node').V1Pod

/**
 * Content read from client-pvc into the sectioned output (lock, manifests, records) loses any line that looks
 * like a section marker: a planted file cannot forge a section (e.g. a held lock that never goes away).
 */
const NO_MARKERS = "sed '/^@@/d'"

const transientStatus = (s: number) => s === 429 || (s >= 500 && s <= 504)

export class Stager {
  pod: string
  retries = 0
  /** Large files partly on the volume from an earlier run: their range records (stageFiles step 3). */
  readonly partial: RangeRecords = new Map()
  protocol?: string
  /** What the pod checks received bytes with, asked of the pod by lockAndReadState (pod-hash.ts). */
  hash: HashAlgo = 'md5'
  /** The hash commands the stage image runs (a resumed work dir is checked with sha256sum when it is there). */
  tools: ReadonlySet<HashAlgo> = new Set()
  /** Random per run: the lock names it, and only this machine's record of it can prove the lock is ours. */
  readonly session = newSessionId()
  constructor(readonly o: StreamOptions) {
    this.pod = o.pod
  }

  private get attempts() {
    return this.o.attempts ?? 6
  }

  aborted(): Error | undefined {
    const s = this.o.signal
    if (!s?.aborted) return undefined
    return s.reason instanceof Error ? s.reason : new Error('aborted')
  }

  /** One exec with retries for transient failures; a vanished pod is recreated when we can. */
  async exec(script: string, what: string, opts: {stdin?: () => Readable | AsyncIterable<Buffer>; capture?: number; onStdinProgress?: (n: number) => void; onStdinDone?: () => void; retry?: boolean} = {}): Promise<ExecResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await execInPod(this.o.t, {
          namespace: this.o.namespace,
          pod: this.pod,
          container: STAGE_CONTAINER,
          command: ['/bin/sh', '-c', script],
          stdin: stdinUnderCap(opts.stdin?.(), this.o.bandwidth),
          onStdinProgress: opts.onStdinProgress,
          onStdinDone: opts.onStdinDone,
          signal: this.o.signal,
          captureLimit: opts.capture,
        })
        this.protocol ??= r.protocol
        // A non-zero exit because the pod was deleted under us is transient: new pod, same work dir.
        if (r.exitCode !== 0 && opts.retry !== false && attempt < this.attempts && (await this.podGone())) {
          this.retries++
          await this.recreate(`${what}: stage pod ${this.pod} is gone`)
          continue
        }
        return r
      } catch (error) {
        const ab = this.aborted()
        if (ab) throw ab
        const retryable = opts.retry !== false && attempt < this.attempts
        if (error instanceof ExecStreamCut || (error instanceof ExecRefused && transientStatus(error.status))) {
          if (!retryable) throw new CliError(`${what}: ${error.message} (gave up after ${attempt} attempts)`, {exitCode: ExitCode.STAGING, reason: 'stream_cut', hint: 'check the connection to the cluster and run the push again: verified files are kept and not sent again'})
          this.retries++
          const wait = error instanceof ExecRefused && error.retryAfterSeconds ? Math.min(error.retryAfterSeconds, 30) * 1000 : Math.min(250 * 2 ** (attempt - 1), 5000)
          this.o.onNote?.(`${what}: ${error.message}; retrying (${attempt}/${this.attempts - 1})`)
          await sleep(wait, this.o.signal)
          await this.ensurePod()
          continue
        }
        if (error instanceof ExecRefused && (error.status === 404 || /not found|not running|completed pod/i.test(error.message)) && this.o.recreatePod && retryable) {
          this.retries++
          await this.recreate(`${what}: stage pod ${this.pod} is gone (${error.message})`)
          continue
        }
        if (error instanceof ExecRefused) {
          throw new CliError(`${what}: the API server refused exec into ${this.o.namespace}/${this.pod} (HTTP ${error.status}: ${error.message})`, {
            exitCode: ExitCode.STAGING,
            hint: error.status === 403 ? 'your user needs `create` and `get` on pods/exec in the client namespace' : undefined,
            reason: error.status === 403 ? 'rbac_denied' : 'exec_refused',
          })
        }
        if (error instanceof CliError) throw error
        throw new CliError(`${what}: ${(error as Error).message}`, {exitCode: ExitCode.STAGING, reason: 'staging_failed'})
      }
    }
  }

  /** Run a script that must exit 0. */
  async sh(script: string, what: string, opts: Parameters<Stager['exec']>[2] = {}): Promise<string> {
    const r = await this.exec(script, what, opts)
    if (r.exitCode !== 0) throw remoteFailure(what, this.o.namespace, this.pod, r)
    return r.stdout
  }

  /** After a cut: if the stage pod died or was deleted, make a new one (the work dir lives on the PVC). */
  private async ensurePod(): Promise<void> {
    if (await this.podGone()) await this.recreate(`stage pod ${this.pod} is gone`)
  }

  private async podGone(): Promise<boolean> {
    if (!this.o.recreatePod) return false
    try {
      const p = await this.o.t.core.readNamespacedPod({name: this.pod, namespace: this.o.namespace})
      return Boolean(p.metadata?.deletionTimestamp) || p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded'
    } catch (error) {
      return apiFailure(error).code === 404
    }
  }

  private async recreate(why: string): Promise<void> {
    this.o.onNote?.(`${why}; starting a new one and continuing from the verified files`)
    this.pod = await this.o.recreatePod!()
    this.remember()
    this.o.onNote?.(`continuing in stage pod ${this.pod}`)
    // The lock names its holder's pod: take it over for the new pod.
    await this.sh(`printf '%s\\n' ${shQuote(this.ownerLine())} > ${shQuote(this.o.paths.lock)}`, 'moving the staging lock to the new pod', {retry: false})
  }

  /** The lock's content: the session, its pod, and for people reading it, the host and pid. */
  ownerLine(): string {
    return `session=${this.session} pod=${this.pod} host=${os.hostname().replace(/\s/g, '_')} pid=${process.pid}`
  }

  private remember(): void {
    rememberSession(this.session, {pid: process.pid, namespace: this.o.namespace, pod: this.pod})
  }

  /** Take the per-table lock and read what the PVC already holds (staged manifest, verified work files). */
  async lockAndReadState(): Promise<{dest?: Map<string, string>; destExists: boolean; verified?: Map<string, string>; workExists: boolean; ranges: RangeRecords; present: Map<string, number>}> {
    const {root, dest, work, lock} = this.o.paths
    // recorded before the lock exists, so a lock of ours always has its record here
    this.remember()
    let force = false
    for (;;) {
      const script = [
        'set -e',
        hashToolsScript(),
        `mkdir -p ${shQuote(root)}`,
        force
          ? `printf '%s\\n' ${shQuote(this.ownerLine())} > ${shQuote(lock)}`
          : `if ! ( set -C; printf '%s\\n' ${shQuote(this.ownerLine())} > ${shQuote(lock)} ) 2>/dev/null; then echo '@@HELD'; head -n 1 ${shQuote(lock)} | cut -c 1-512 | ${NO_MARKERS}; exit 0; fi`,
        `if [ -d ${shQuote(dest)} ]; then echo '@@DESTDIR'; fi`,
        `if [ -f ${shQuote(`${dest}/${MANIFEST_NAME}`)} ]; then echo '@@DEST'; ${NO_MARKERS} ${shQuote(`${dest}/${MANIFEST_NAME}`)}; fi`,
        `if [ -d ${shQuote(work)} ]; then echo '@@WORKDIR'; echo '@@VERIFIED'; cat ${shQuote(`${work}/${VERIFIED_DIR}`)}/* 2>/dev/null | ${NO_MARKERS}; echo '@@RANGES'; cat ${shQuote(`${work}/${RANGES_DIR}`)}/* 2>/dev/null | ${NO_MARKERS}; echo '@@PRESENT'; ${PRESENT_FILES(work)}; fi`,
        hashProbeScript(),
      ].join('\n')
      const out = await this.sh(script, 'reading the staged copy', {capture: 1 << 30})
      const sections = splitSections(out)
      const tools = availableHashes(sections.get('TOOLS'))
      const hash = chooseHash(sections.get('HASH'), undefined, tools)
      if (!hash) {
        if (!sections.has('NOTOOLS')) await this.release()
        this.forget()
        throw await this.missingHashTool(tools)
      }
      if (sections.has('HELD')) {
        const holder = sections.get('HELD')!.trim()
        if (await this.holderIsStale(holder)) {
          this.o.onNote?.(`taking over a stale staging lock of table ${this.o.table} (${holder})`)
          force = true
          continue
        }
        const named = lockField(holder, 'pod')
        const pod = named && isPodName(named) ? named : undefined
        this.forget()
        throw new CliError(`another push of table "${this.o.table}" is staging right now (stage pod ${pod ?? '?'})`, {
          exitCode: ExitCode.STAGING,
          reason: 'staging_locked',
          hint: `wait for it to finish; if that push is dead, delete its pod and run again: kubectl delete pod -n ${this.o.namespace} ${pod ?? '<pod>'}`,
        })
      }
      this.hash = hash
      this.tools = tools
      return {
        destExists: sections.has('DESTDIR'),
        dest: sections.has('DEST') ? parseManifest(sections.get('DEST')!) : undefined,
        workExists: sections.has('WORKDIR'),
        verified: sections.has('VERIFIED') ? parseManifest(sections.get('VERIFIED')!) : undefined,
        ranges: parseRangeRecords(sections.get('RANGES') ?? ''),
        present: parsePresent(sections.get('PRESENT') ?? ''),
      }
    }
  }

  /** The stage image cannot check what it receives: name the image and what it lacks. */
  private async missingHashTool(tools: ReadonlySet<HashAlgo>): Promise<CliError> {
    let image = 'the stage image'
    try {
      const p = await this.o.t.core.readNamespacedPod({name: this.pod, namespace: this.o.namespace})
      image = p.spec?.containers.find((c) => c.name === STAGE_CONTAINER)?.image ?? image
    } catch {
      // the message still says what is missing
    }
    const pinned = process.env.TRACEBLOC_STAGE_HASH
    const lacks = tools.size === 0 ? 'sha256sum and md5sum' : `${pinned}sum (TRACEBLOC_STAGE_HASH=${pinned})`
    return new CliError(`stage image ${image} lacks ${lacks}: the pod could not check the bytes it receives, so nothing was copied`, {
      exitCode: ExitCode.STAGING,
      reason: 'stage_image_unusable',
      hint: 'use a stage image with busybox or coreutils (sh, tar, sha256sum or md5sum): leave --stage-image at its default or mirror that image',
    })
  }

  /**
   * Stale only when its owner is provably gone: the pod the lock names does not exist or has ended (asked of
   * the API), or this machine's record shows that a CLI here made that pod for that session and died (the pod
   * then idles until its deadline, so it is removed). What the lock says about host and pid proves nothing
   * (anyone who can write client-pvc can write a lock), so it never leads to deleting a pod.
   */
  private async holderIsStale(holder: string): Promise<boolean> {
    const pod = lockField(holder, 'pod')
    // not a lock a push writes (none names no pod): there is no owner to wait for
    if (!pod || !isPodName(pod)) return true
    let live: V1Pod | undefined
    try {
      const p = await this.o.t.core.readNamespacedPod({name: pod, namespace: this.o.namespace})
      if (!p.metadata?.deletionTimestamp && p.status?.phase !== 'Failed' && p.status?.phase !== 'Succeeded') live = p
    } catch (error) {
      if (apiFailure(error).code !== 404) throw error
    }
    if (!live) return true
    const session = lockField(holder, 'session')
    const mine = session ? recalledSession(session) : undefined
    const isStagePod = live.metadata?.labels?.['tracebloc.io/component'] === STAGE_LABELS['tracebloc.io/component']
    if (session && mine && mine.pod === pod && mine.namespace === this.o.namespace && mine.pid !== process.pid && !processAlive(mine.pid) && isStagePod) {
      await this.o.t.core.deleteNamespacedPod({name: pod, namespace: this.o.namespace, gracePeriodSeconds: 0}).catch(() => undefined)
      forgetSession(session)
      return true
    }
    return false
  }

  /** Drop this session's local record (its lock is released or swapped away). */
  forget(): void {
    forgetSession(this.session)
  }

  async release(): Promise<void> {
    const {lock, backup} = this.o.paths
    await execInPod(this.o.t, {
      namespace: this.o.namespace,
      pod: this.pod,
      container: STAGE_CONTAINER,
      command: ['/bin/sh', '-c', `rm -rf ${shQuote(backup)}; if grep -q ${shQuote(`pod=${this.pod} `)} ${shQuote(lock)} 2>/dev/null; then rm -f ${shQuote(lock)}; fi`],
    }).catch(() => undefined)
  }
}

/** Ranges of large files already on the volume, by file name, then offset. */
/** Per file, per offset: what landed there, with the pod's hash of it (md5 or sha256, by its length). */
export type RangeRecords = Map<string, Map<number, {length: number; size: number; hash: string}>>

function parseRangeRecords(text: string): RangeRecords {
  const out: RangeRecords = new Map()
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{32}|[0-9a-f]{64}) (\d+) (\d+) (\d+) (.+)$/.exec(line)
    if (!m) continue
    let file = out.get(m[5])
    if (!file) out.set(m[5], (file = new Map()))
    file.set(Number(m[2]), {hash: m[1], length: Number(m[3]), size: Number(m[4])})
  }
  return out
}

/**
 * Data files in a work dir (`<size> <name>` lines): what an interrupted run left that may have landed whole.
 * A listed name only makes a file a candidate; the pod's hash check decides whether it is kept.
 */
const PRESENT_FILES = (work: string) =>
  `(cd ${shQuote(work)} && find . -type f ! -name '.tb-*' ! -path './.tb-*' ! -path './${VERIFIED_DIR}/*' ! -name ${shQuote(MANIFEST_NAME)} -exec sh -c 'stat -c "%s %n" "$@"' sh {} + 2>/dev/null | ${NO_MARKERS}) || :`

function parsePresent(text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    const m = /^(\d+) \.\/(.+)$/.exec(line)
    if (m) out.set(m[2], Number(m[1]))
  }
  return out
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function splitSections(out: string): Map<string, string> {
  const m = new Map<string, string>()
  let cur: string | undefined
  let buf: string[] = []
  for (const line of out.split('\n')) {
    const h = /^@@([A-Z]+)$/.exec(line)
    if (h) {
      if (cur) m.set(cur, buf.join('\n'))
      cur = h[1]
      buf = []
    } else if (cur) buf.push(line)
  }
  if (cur) m.set(cur, buf.join('\n'))
  return m
}

export function remoteFailure(what: string, ns: string, pod: string, r: ExecResult): CliError {
  const err = r.stderr.trim().split('\n').slice(-3).join(' | ') || 'no output'
  return new CliError(`${what} failed in ${ns}/${pod} (exit ${r.exitCode}): ${err}`, {
    exitCode: ExitCode.STAGING,
    hint: r.stderr.includes('No space left')
      ? 'client-pvc is full: free space or grow the PVC'
      : r.stderr.includes('Permission denied')
        ? `the stage pod (uid 65532) cannot write ${STAGING_ROOT}; the PVC must be writable by that uid`
        : undefined,
    reason: 'staging_failed',
  })
}

/**
 * A length-framed tar of generated files (for lists too long for a command line): `text`, or `lines` for a
 * list that may run to a million lines, measured and then streamed in 64 KiB pieces, never joined.
 */
export function smallTar(files: Array<{name: string; text: string} | {name: string; lines: () => Iterable<string>}>): {size: number; stream: () => AsyncIterable<Buffer>} {
  const entries: TarEntry[] = files.map((f) => {
    if ('text' in f) {
      const buf = Buffer.from(f.text, 'utf8')
      return {localPath: '', name: f.name, size: buf.length, data: () => buf}
    }
    let size = 0
    for (const l of f.lines()) size += Buffer.byteLength(l)
    return {localPath: '', name: f.name, size, chunks: () => packLines(f.lines())}
  })
  return {size: tarSize(entries), stream: () => tarStream(entries)}
}

function* packLines(lines: Iterable<string>): Generator<Buffer> {
  let part: string[] = []
  let len = 0
  for (const l of lines) {
    part.push(l)
    len += l.length
    if (len >= 1 << 16) {
      yield Buffer.from(part.join(''), 'utf8')
      part = []
      len = 0
    }
  }
  if (part.length > 0) yield Buffer.from(part.join(''), 'utf8')
}

/**
 * The manifest (a smallTar on stdin) next to the staged copy, then the atomic swap (work-dir.ts swapScript:
 * dest→backup, work→dest, rm backup, the sweep) — the same for a local and a remote push. A file not on the
 * verified list stops it (exit 7, naming up to three; `what` says which files, e.g. "staged"); nothing is
 * swapped in then.
 */
export async function swapIntoPlace(s: Stager, table: string, manifest: {size: number; stream: () => AsyncIterable<Buffer>}, what: string): Promise<void> {
  const {work, dest, backup, lock, root} = s.o.paths
  const swap = await s.exec(
    swapScript({work: shQuote(work), dest: shQuote(dest), backup: shQuote(backup), lock, root, table, manifestBytes: manifest.size, manifestName: MANIFEST_NAME}),
    'swapping the staged copy into place',
    {stdin: manifest.stream, capture: 1 << 24},
  )
  if (swap.exitCode === SWAP_UNVERIFIED) {
    const names = [...swap.stdout.matchAll(/^@@UNVERIFIED (.*)$/gm)].map((m) => m[1])
    throw new CliError(`the pod did not verify ${names.length} ${what} file(s): ${names.slice(0, 3).join(', ')}${names.length > 3 ? ' …' : ''}; nothing was swapped in`, {exitCode: ExitCode.STAGING, reason: 'verify_failed', hint: 'run the push again; nothing was submitted'})
  }
  if (swap.exitCode !== 0) throw remoteFailure('swapping the staged copy into place', s.o.namespace, s.pod, swap)
}
