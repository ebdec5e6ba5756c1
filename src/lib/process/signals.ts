// One interruption model for every command.
// - First SIGINT/SIGTERM: the run's AbortSignal fires with an InterruptedError. A command that called
//   `cooperate()` (dataset push) stops its current step, cleans up and reports where things stand
//   itself; any other command runs the registered cleanups and exits at once. Exit 130 (SIGINT) or
//   143 (SIGTERM). A watchdog makes sure a cooperating command that fails to stop still exits.
// - Second signal: the urgent cleanups (delete the stage pod) run with a short deadline, then exit.
// - Last resort: an uncaught exception or unhandled rejection prints one line, runs the cleanups and
//   exits 1; the stack only with --verbose.
// Test hook: TRACEBLOC_TEST_SIGNAL_AT=<point>[:SIGTERM][,<point>[:SIG]…] makes `signalPoint(<point>)`
// send that signal to this process once, so tests can interrupt every step deterministically
// (:CRASH / :REJECT raise an uncaught exception / unhandled rejection there instead).
// Unset (always, for users) it does nothing.
import {InterruptedError, interruptExitCode, unexpectedErrorLine} from '../output/errors.js'
import {redact} from '../output/redact.js'

type Sig = 'SIGINT' | 'SIGTERM'
type Cleanup = () => Promise<unknown> | unknown

/** How long the cleanups may take on a second signal, or after an unexpected error. */
export const URGENT_DEADLINE_MS = 3000
export const CLEANUP_DEADLINE_MS = 10_000
/** A cooperating command must have exited this long after the first signal. */
const WATCHDOG_MS = 20_000

export interface Interruption {
  /** Aborted (reason: InterruptedError) on the first signal. */
  signal: AbortSignal
  interruptedBy(): Sig | undefined
  /** 130 or 143 once interrupted. */
  exitCode(): number
  /** The command handles the first signal itself (stop, clean up, report); otherwise we exit at once. */
  cooperate(): void
  /** Stop cooperating (the command's own handling is over): a later first signal exits at once. */
  release(): void
  /** Run on a first signal of a non-cooperating command and after an unexpected error (deadline 10 s). */
  onCleanup(fn: Cleanup): () => void
  /** Run on a second signal, before exiting (deadline 3 s): only what must not be left behind. */
  onUrgent(fn: Cleanup): () => void
}

interface State extends Interruption {
  ac: AbortController
  by?: Sig
  cooperating: boolean
  cleanups: Set<Cleanup>
  urgent: Set<Cleanup>
  verbose: () => boolean
  json: () => boolean
  dying: boolean
}

let state: State | undefined
const pointWaiters: Array<() => void> = []

/** Install the process-wide model (idempotent): BaseCommand does this for every command. */
export function installInterruption(opts: {verbose: () => boolean; json: () => boolean}): Interruption {
  if (state) return state
  const ac = new AbortController()
  const s: State = {
    ac,
    signal: ac.signal,
    cooperating: false,
    cleanups: new Set(),
    urgent: new Set(),
    verbose: opts.verbose,
    json: opts.json,
    dying: false,
    interruptedBy: () => s.by,
    exitCode: () => interruptExitCode(s.by),
    cooperate: () => {
      s.cooperating = true
    },
    release: () => {
      s.cooperating = false
    },
    onCleanup: (fn) => {
      s.cleanups.add(fn)
      return () => s.cleanups.delete(fn)
    },
    onUrgent: (fn) => {
      s.urgent.add(fn)
      return () => s.urgent.delete(fn)
    },
  }
  state = s
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  process.on('uncaughtException', lastResort)
  process.on('unhandledRejection', lastResort)
  return s
}

/** The installed model, if any (library code may run outside a command, e.g. in unit tests). */
export function interruption(): Interruption | undefined {
  return state
}

function onSignal(sig: NodeJS.Signals): void {
  const s = state!
  for (const w of pointWaiters.splice(0)) w()
  if (s.dying) return
  if (s.by) {
    // The user insists: remove what must not stay in the cluster, briefly, then go.
    s.dying = true
    process.stderr.write(`\nReceived ${sig} again: removing the stage pod (if any) and exiting.\n`)
    void runAll(s.urgent, URGENT_DEADLINE_MS).then(() => process.exit(s.exitCode()))
    return
  }
  s.by = sig as Sig
  s.ac.abort(new InterruptedError(`interrupted by ${sig}`, {signal: sig}))
  if (!s.cooperating) {
    s.dying = true
    if (!s.json()) process.stderr.write(`\nInterrupted (${sig}).\n`)
    void runAll(s.cleanups, CLEANUP_DEADLINE_MS).then(() => process.exit(s.exitCode()))
    return
  }
  // Cooperating: the command stops and exits itself; this only fires if something hangs.
  setTimeout(() => {
    process.stderr.write(`\nStill running ${WATCHDOG_MS / 1000}s after ${sig}: removing the stage pod (if any) and exiting.\n`)
    void runAll(s.urgent, URGENT_DEADLINE_MS).then(() => process.exit(s.exitCode()))
  }, WATCHDOG_MS).unref()
}

function lastResort(error: unknown): void {
  const s = state!
  if (s.dying) return
  s.dying = true
  const e = error as Error | undefined
  const line = unexpectedErrorLine(error)
  if (s.json()) process.stdout.write(redact(JSON.stringify({status: 'error', error: line, reason: 'unexpected_error', exit_code: 1}, null, 2)) + '\n')
  else process.stderr.write(redact(line) + '\n')
  if (s.verbose() && e?.stack) process.stderr.write(redact(e.stack) + '\n')
  void runAll(s.cleanups, CLEANUP_DEADLINE_MS).then(() => process.exit(1))
}

async function runAll(fns: Set<Cleanup>, deadlineMs: number): Promise<void> {
  const all = Promise.allSettled([...fns].map(async (fn) => fn()))
  await Promise.race([all, new Promise((resolve) => setTimeout(resolve, deadlineMs).unref())])
}

/** Exit soon even if a handle (socket, timer, listener) a stopped step left open would keep Node alive. */
export function exitWhenDone(graceMs = 500): void {
  setTimeout(() => process.exit(), graceMs).unref()
}

// ---- test hook ----

const firedPoints = new Set<string>()

function plannedSignal(point: string): Sig | 'CRASH' | 'REJECT' | undefined {
  const spec = process.env.TRACEBLOC_TEST_SIGNAL_AT
  if (!spec) return undefined
  for (const [i, item] of spec.split(',').entries()) {
    const [name, sig] = item.trim().split(':')
    const key = String(i)
    if (name === point && !firedPoints.has(key)) {
      firedPoints.add(key)
      return sig === 'SIGTERM' || sig === 'CRASH' || sig === 'REJECT' ? sig : 'SIGINT'
    }
  }
  return undefined
}

/**
 * A named point of the pipeline. With TRACEBLOC_TEST_SIGNAL_AT naming it, deliver the signal to this
 * process and wait until the handler has seen it, so the code after the point runs interrupted.
 */
export async function signalPoint(point: string): Promise<void> {
  const sig = plannedSignal(point)
  if (!sig) return
  // CRASH / REJECT: an uncaught exception / unhandled rejection there, for the last-resort guard's tests
  if (sig === 'CRASH') {
    setImmediate(() => {
      throw new Error(`test crash at ${point}`)
    })
    return
  }
  if (sig === 'REJECT') {
    void Promise.reject(new Error(`test rejection at ${point}`))
    return
  }
  // a ref'd timer: the pending signal alone does not keep the event loop alive
  let timer: NodeJS.Timeout | undefined
  const seen = new Promise<void>((resolve) => {
    pointWaiters.push(resolve)
    timer = setTimeout(resolve, 2000)
  })
  process.kill(process.pid, sig)
  await seen
  clearTimeout(timer)
}

/**
 * Like signalPoint, but for synchronous code: send the signal and carry on without waiting, so the code
 * that follows runs with the signal pending (tests check that a long local check still lets it through).
 */
export function signalPointNow(point: string): void {
  const sig = plannedSignal(point)
  if (sig === 'SIGINT' || sig === 'SIGTERM') process.kill(process.pid, sig)
}

/** The pipeline points tests can interrupt (TRACEBLOC_TEST_SIGNAL_AT), in the order a push meets them. */
export const SIGNAL_POINTS = ['validate', 'connect', 'port-forward', 'stage', 'stage-pod', 'transfer', 'submit', 'submit-retry', 'watch', 'logs', 'cleanup', 'reclaim'] as const

/** Throw the InterruptedError if the run was interrupted: call between steps that ignore the signal. */
export function throwIfInterrupted(signal?: AbortSignal): void {
  if (signal?.aborted) throw signal.reason
}

/** `work` or the abort, whichever comes first (for steps that cannot take a signal themselves). */
export function raceAbort<T>(signal: AbortSignal | undefined, work: Promise<T>): Promise<T> {
  if (!signal) return work
  if (signal.aborted) {
    work.catch(() => undefined)
    return Promise.reject(signal.reason)
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, {once: true})
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort)
        resolve(v)
      },
      (error) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}
