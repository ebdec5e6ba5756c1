// Which hash the stage pod checks received bytes with, chosen by asking the pod, and the in-pod sha256 of a
// large file sent in ranges.
//
// The client must hash every byte once anyway: sha256 is a file's identity (manifest, cache, re-push).
// Where the pod's sha256sum is fast (alpine 3.20's busybox uses the CPU's SHA instructions: faster than its
// md5sum), the pod checks that same sha256 and the client hashes each byte once. Where it is slow (older
// busybox, no SHA instructions: ~2.5× md5sum's CPU per byte), the pod checks md5 and the client pays for
// both hashes — on this machine ~1.7 s/GiB of md5 on top of ~0.8 s/GiB of sha256.
import {type ExecResult, shQuote} from '../cluster/exec.js'

export type HashAlgo = 'sha256' | 'md5'

export const HEX_DIGITS: Record<HashAlgo, number> = {sha256: 64, md5: 32}

/** The busybox/coreutils command that prints this hash. */
export const hashCommand = (a: HashAlgo) => `${a}sum`

/** Bytes each probe hashes: ~0.2 s of CPU for a software sha256, enough for `time`'s 10 ms ticks. */
const PROBE_MIB = 32

/**
 * Appended to the first exec of a staging run: the CPU time sha256sum and md5sum take over the same zeros in
 * the pod (`<command> cpu <user s> <system s>`, from `time -f`; CPU time, so other work on the node does
 * not skew it), or where there is no `time`, the wall time (`<command> wall <uptime before> <after>`).
 * Never fails the script.
 */
export function hashProbeScript(): string {
  const zeros = `dd if=/dev/zero bs=1M count=${PROBE_MIB} 2>/dev/null`
  const up = `$(cut -d' ' -f1 /proc/uptime 2>/dev/null || true)`
  return [
    "echo '@@HASH'",
    'for h in sha256sum md5sum; do',
    `  if command -v time >/dev/null 2>&1; then ${zeros} | time -f "$h cpu %U %S" $h 2>&1 >/dev/null || true`,
    `  else a=${up}; ${zeros} | $h >/dev/null 2>&1 && echo "$h wall $a ${up}" || true; fi`,
    'done',
  ].join('\n')
}

/**
 * Part of the first exec, before the lock is taken: which of the two hash commands the stage image really
 * runs (`@@TOOLS` then one name per line; `@@NOTOOLS` and exit when neither). The pod's check fails closed: an image without either is an
 * error, never a skipped check.
 */
export function hashToolsScript(): string {
  return [
    "echo '@@TOOLS'",
    'T=',
    'for h in sha256sum md5sum; do if printf x | $h >/dev/null 2>&1; then echo "$h"; T=1; fi; done',
    // no hash command: stop here, before the lock is taken or anything is written
    `if [ -z "$T" ]; then echo '@@NOTOOLS'; exit 0; fi`,
  ].join('\n')
}

/** The hash commands the pod answered to (from hashToolsScript's section). */
export function availableHashes(section: string | undefined): Set<HashAlgo> {
  const out = new Set<HashAlgo>()
  for (const line of (section ?? '').split('\n')) {
    if (line.trim() === 'sha256sum') out.add('sha256')
    if (line.trim() === 'md5sum') out.add('md5')
  }
  return out
}

/**
 * sha256 when the pod hashes sha256 at most 1.5× as slowly as md5 (with SHA instructions it is faster;
 * without, ~2.5× slower); md5 when the probe says otherwise or could not run. TRACEBLOC_STAGE_HASH pins it.
 */
export function chooseHash(probe: string | undefined, override = process.env.TRACEBLOC_STAGE_HASH, available: ReadonlySet<HashAlgo> = new Set(['sha256', 'md5'])): HashAlgo | undefined {
  if (override === 'sha256' || override === 'md5') return available.has(override) ? override : undefined
  if (!available.has('md5')) return available.has('sha256') ? 'sha256' : undefined
  if (!available.has('sha256')) return 'md5'
  const took = new Map<string, number>()
  for (const line of (probe ?? '').split('\n')) {
    const m = /^(sha256sum|md5sum) (cpu|wall) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?)$/.exec(line.trim())
    if (m) took.set(m[1], m[2] === 'cpu' ? Number(m[3]) + Number(m[4]) : Number(m[4]) - Number(m[3]))
  }
  const sha = took.get('sha256sum')
  const md5 = took.get('md5sum')
  if (sha === undefined || md5 === undefined) return 'md5'
  return sha <= md5 * 1.5 + 0.02 ? 'sha256' : 'md5'
}

/**
 * A large file's sha256, computed in the pod while its ranges stream: one exec reads the file back in
 * order, range by range, as each range is confirmed (its in-pod hash matched the client's), so it only
 * ever reads bytes that are known good and mostly still in the pod's page cache; when the last range is
 * confirmed only that range is left to hash. Confirmations go over the exec's stdin as `<offset> <length>`
 * lines, ended by `end`; a retried exec replays them from the start.
 */
/** What the in-pod digest needs of the exec session (stager.ts's Stager), named here so this module stays below it. */
export interface DigestSession {
  readonly o: {paths: {work: string}}
  exec(script: string, what: string, opts: {stdin: () => AsyncIterable<Buffer>}): Promise<ExecResult>
}

export class PodFileDigest {
  private readonly lines: string[] = []
  private readonly confirmed = new Set<number>()
  private next = 0
  private ended = false
  private wake?: () => void
  private result?: Promise<string | undefined>

  constructor(
    private readonly s: DigestSession,
    private readonly name: string,
    private readonly ranges: Array<{offset: number; length: number}>,
  ) {}

  /** The exec starts with the first confirmation (no idle connection while the first ranges stream). */
  private start(): Promise<string | undefined> {
    const s = this.s
    const W = shQuote(s.o.paths.work)
    const F = shQuote(`./${this.name}`)
    const script = [
      'set -e',
      'set -o pipefail',
      `cd ${W}`,
      `while read -r off len; do [ "$off" = end ] && break; dd if=${F} bs=1M iflag=skip_bytes,count_bytes skip="$off" count="$len" status=none; done | sha256sum`,
    ].join('\n')
    return s
      .exec(script, `hashing ${this.name} in the pod`, {stdin: () => this.feed()})
      .then((r) => (r.exitCode === 0 ? /^([0-9a-f]{64}) /m.exec(r.stdout)?.[1] : undefined))
      .catch(() => undefined)
  }

  /** Range `i` (index into the ranges) is good on the volume. */
  confirm(i: number): void {
    this.confirmed.add(i)
    while (this.confirmed.has(this.next)) {
      const r = this.ranges[this.next++]
      this.lines.push(`${r.offset} ${r.length}\n`)
    }
    if (this.lines.length > 0) this.result ??= this.start()
    this.poke()
  }

  /** The file's sha256 once every range was confirmed; undefined if the in-pod read failed or fell short. */
  async digest(): Promise<string | undefined> {
    const complete = this.next === this.ranges.length
    this.end()
    const d = await this.result
    return complete ? d : undefined
  }

  /** Stop reading (a range failed, the send was aborted): the exec ends without a usable digest. */
  end(): void {
    this.ended = true
    this.poke()
  }

  private poke(): void {
    const w = this.wake
    this.wake = undefined
    w?.()
  }

  /** stdin of one attempt: every confirmation so far, then each new one as it comes (an empty chunk flushes). */
  private async *feed(): AsyncGenerator<Buffer> {
    for (let i = 0; ; ) {
      if (i < this.lines.length) {
        yield Buffer.from(this.lines.slice(i).join(''))
        yield Buffer.alloc(0)
        i = this.lines.length
        continue
      }
      if (this.ended) break
      await new Promise<void>((resolve) => (this.wake = resolve))
    }
    yield Buffer.from('end\n')
  }
}
