// What local preflight reports: findings collected so one run names every problem, the errors it
// throws (exit 2 for the input, 3 for the machine), and how values and examples appear in messages.
import {CliError, ExitCode} from '../output/errors.js'
import {quoteUser, truncateText} from '../output/truncate.js'

/** "a, b, c, d, e … and 7 more": never more than five examples in a message. */
export function someOf(items: readonly string[], total = items.length, max = 5): string {
  const shown = items.slice(0, max).map((i) => truncateText(i)).join(', ')
  return total > max ? `${shown} … and ${total - max} more` : shown
}

/** Keeps the first few examples and the true count without holding every offender in memory. */
export class Examples {
  readonly items: string[] = []
  count = 0
  add(item: string): void {
    this.count++
    if (this.items.length < 5) this.items.push(item)
  }

  toString(): string {
    return someOf(this.items, this.count)
  }
}

export function badInput(message: string, hint?: string, reason = 'bad_input'): CliError {
  return new CliError(message, {exitCode: ExitCode.BAD_INPUT, hint, reason})
}

export function badData(message: string, hint?: string, reason = 'preflight_failed'): CliError {
  return new CliError(message, {exitCode: ExitCode.LOCAL_ENV, hint, reason})
}

/** A preflight finding. Findings are collected so one run reports every problem, not just the first. */
export interface Problem {
  exitCode: 2 | 3
  message: string
  /** The next step when it is not "fix the data" (a flag to change). */
  hint?: string
}

export class Problems {
  readonly list: Problem[] = []
  data(message: string): void {
    this.list.push({exitCode: 3, message})
  }

  input(message: string, hint?: string): void {
    this.list.push({exitCode: 2, message, hint})
  }

  /** Throws when anything was found; the exit code is that of the first finding (the Go CLI's check order). */
  throwIfAny(where: string): void {
    if (this.list.length === 0) return
    const first = this.list[0]!
    if (this.list.length === 1) throw new CliError(first.message, {exitCode: first.exitCode, reason: 'preflight_failed', hint: first.hint ?? 'Fix the data above and run the command again; nothing was uploaded.'})
    const lines = this.list.map((p, i) => `  ${i + 1}. ${p.message}`)
    throw new CliError(`${where}: ${this.list.length} problems found:\n${lines.join('\n')}`, {
      exitCode: first.exitCode,
      reason: 'preflight_failed',
      hint: 'Fix the problems above and run the command again; nothing was uploaded.',
    })
  }
}

/** A user value in a message: JSON-quoted and, past 200 characters, cut with its total length. */
export function quote(s: string): string {
  return quoteUser(s)
}

const READ_ERRORS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'is a folder, not a file',
  ENOTDIR: 'a part of the path is not a folder',
  ENOENT: 'no such file or folder',
  ELOOP: 'too many levels of symbolic links',
  EIO: 'input/output error',
  ENAMETOOLONG: 'name too long',
}

/** A file-system error while reading the dataset is the local environment's (exit 3), not a bug. */
export function localReadError(error: unknown): CliError | undefined {
  const e = error as NodeJS.ErrnoException | undefined
  if (!e || typeof e.code !== 'string' || !(e.code in READ_ERRORS) || e instanceof CliError) return undefined
  const where = e.path ? ` ${quoteUser(e.path)}` : ''
  return new CliError(`cannot read${where}: ${READ_ERRORS[e.code]}`, {
    exitCode: ExitCode.LOCAL_ENV,
    reason: 'unreadable',
    hint: e.code === 'EACCES' || e.code === 'EPERM' ? 'make the dataset readable by your user (e.g. chmod -R u+rX <folder>) and run the command again; nothing was uploaded' : 'check the dataset path and run the command again; nothing was uploaded',
    cause: e,
  })
}

/**
 * Why the ingestor (or the on-volume staging protocol) cannot take a file of this name, or undefined.
 * Checked during local validation, before anything touches the cluster.
 */
export function unstageableName(name: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'a control character (newline, tab …)'
  if (name.includes('\\')) return 'a backslash'
  if (name.includes('\uFFFD')) return 'bytes that are not valid UTF-8'
  if (name.startsWith('.tb-')) return 'the .tb- prefix the staging protocol reserves'
  return undefined
}
