// Exit codes are frozen: they match the Go CLI's table (docs/protocol.md#exit-codes) so users' scripts keep
// working. Every decision about which code a failure gets is made once, where the error is built.
import {truncateText} from './truncate.js'

export const ExitCode = {
  OK: 0,
  GENERIC: 1,
  BAD_INPUT: 2,
  LOCAL_ENV: 3,
  NO_CLIENT: 4,
  AUTH: 5,
  /** The same code as AUTH, for `dataset show/delete`: no dataset by that name (as the Go CLI's data delete). */
  NO_DATASET: 5,
  TABLE_EXISTS: 6,
  STAGING: 7,
  SUBMIT: 8,
  JOB: 9,
  INTERRUPTED: 130,
  TERMINATED: 143,
} as const
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

export interface CliErrorOptions {
  exitCode: number
  /** One line telling the user what to do next. */
  hint?: string
  /** Stable machine-readable reason for --json consumers (e.g. "rbac_denied"). */
  reason?: string
  cause?: unknown
}

/** A failure the user can act on: one-line cause, a next step, a documented exit code. */
export class CliError extends Error {
  readonly exitCode: number
  readonly hint?: string
  readonly reason?: string

  constructor(message: string, opts: CliErrorOptions) {
    super(message, {cause: opts.cause})
    this.name = 'CliError'
    this.exitCode = opts.exitCode
    this.hint = opts.hint
    this.reason = opts.reason
  }
}

/** The exit code of a run stopped by `signal`: 130 for SIGINT (Ctrl-C), 143 for SIGTERM, as shells report them. */
export function interruptExitCode(signal?: string): number {
  return signal === 'SIGTERM' ? ExitCode.TERMINATED : ExitCode.INTERRUPTED
}

/** Raised when the user interrupts (SIGINT → exit 130, SIGTERM → exit 143). */
export class InterruptedError extends CliError {
  readonly signal?: string
  constructor(message = 'interrupted', opts: {signal?: string; hint?: string} = {}) {
    super(message, {exitCode: interruptExitCode(opts.signal), reason: 'interrupted', hint: opts.hint})
    this.name = 'InterruptedError'
    this.signal = opts.signal
  }
}

export function isCliError(err: unknown): err is CliError {
  return err instanceof CliError
}

/** The one line an unexpected error (a bug) is reported with: its first line, truncated; the stack only with --verbose. */
export function unexpectedErrorLine(error: unknown, paint: (s: string) => string = (s) => s): string {
  const what = truncateText(String((error as Error | undefined)?.message ?? error).split('\n')[0] ?? '')
  return `${paint('unexpected error: ')}${what} — this is a bug; rerun with --verbose and report it`
}
