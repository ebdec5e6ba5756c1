import {Command, Flags, Interfaces} from '@oclif/core'

import {CliError, ExitCode, isCliError, unexpectedErrorLine} from '../output/errors.js'
import {redact} from '../output/redact.js'
import {style} from '../output/style.js'
import {truncateText} from '../output/truncate.js'
import type {ClusterTarget} from '../cluster/kube.js'
import type {ClusterIdentity} from '../guard/identity.js'
import {setNoInput} from '../process/input.js'
import {installInterruption, Interruption} from '../process/signals.js'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>
export type BaseArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

/**
 * Shared by every tracebloc command: --json / --verbose, error rendering (one-line cause, a
 * next step, the documented exit code, no stack trace unless --verbose, secrets redacted).
 * Commands return a typed result from run(); --json prints it as one document.
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static enableJsonFlag = true
  static baseFlags = {
    verbose: Flags.boolean({description: 'Show debug detail and stack traces on errors', helpGroup: 'GLOBAL'}),
  }

  protected flags!: BaseFlags<T>
  protected args!: BaseArgs<T>
  /** SIGINT/SIGTERM and last-resort handling for this process (src/lib/process/signals.ts). */
  protected interruption!: Interruption

  public override async init(): Promise<void> {
    this.interruption = installInterruption({
      verbose: () => this.flags?.verbose ?? process.argv.includes('--verbose'),
      json: () => (this.flags ? this.jsonEnabled() : process.argv.includes('--json')),
    })
    await super.init()
    const {args, flags} = await this.parse({
      args: this.ctor.args,
      baseFlags: (super.ctor as typeof BaseCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      // Environment and profile values become the flags' defaults (flag > env > profile > default).
      flags: this.ctor.flags && 'profile' in this.ctor.flags ? (await import('../config/apply.js')).withProfileDefaults(this.ctor.flags, this.argv) : this.ctor.flags,
      strict: this.ctor.strict,
    })
    this.flags = flags as BaseFlags<T>
    this.args = args as BaseArgs<T>
    setNoInput(Boolean((flags as {'no-input'?: boolean})['no-input']))
  }

  /**
   * The wrong-cluster guard, called by each command that writes once it has connected and before it
   * changes anything (src/lib/guard). Prints its one-line note; returns the target's identity.
   */
  protected async guardTarget(t: ClusterTarget, namespace: string, o: {dryRun?: boolean; signal?: AbortSignal} = {}): Promise<ClusterIdentity> {
    const f = this.flags as {kubeconfig?: string; 'i-know-the-target'?: boolean; 'expect-cluster'?: string}
    const {guardWrite} = await import('../guard/guard.js')
    const g = await guardWrite(t, namespace, {kubeconfig: f.kubeconfig, iKnowTheTarget: f['i-know-the-target'], expectCluster: f['expect-cluster'], dryRun: o.dryRun, signal: o.signal})
    if (g.note) this.note(style.dim(`note: ${g.note}`))
    return g.identity
  }

  /** Human output on stdout (suppressed under --json). */
  protected out(line = ''): void {
    if (!this.jsonEnabled()) process.stdout.write(redact(line) + '\n')
  }

  /** Human notes and warnings on stderr (suppressed under --json). */
  protected note(line: string): void {
    if (!this.jsonEnabled()) process.stderr.write(redact(line) + '\n')
  }

  protected warnLine(line: string): void {
    this.note(style.yellow('Warning: ') + line)
  }

  protected trace(line: string): void {
    if (this.flags?.verbose) process.stderr.write(style.dim(redact(line)) + '\n')
  }

  public override logJson(json: unknown): void {
    process.stdout.write(redact(JSON.stringify(json, null, 2)) + '\n')
  }

  protected override toErrorJson(err: unknown): unknown {
    const e = err as CliError & {oclif?: {exit?: number}}
    return {
      status: 'error',
      error: redact(e?.message ?? String(err)),
      exit_code: e?.exitCode ?? e?.oclif?.exit ?? ExitCode.GENERIC,
      // oclif's own parse errors (missing/unknown flag, bad option value) are exit 2: bad input.
      ...(e?.reason ? {reason: e.reason} : e?.oclif?.exit === 2 ? {reason: 'bad_flag'} : {}),
      ...(e?.hint ? {hint: redact(e.hint)} : {}),
    }
  }

  protected override async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<unknown> {
    // oclif's ExitError (this.exit()) carries its code; pass it through untouched.
    if (err.oclif?.exit !== undefined && !isCliError(err) && err.message.startsWith('EEXIT')) throw err
    const verbose = this.flags?.verbose ?? process.argv.includes('--verbose')
    const code = isCliError(err) ? err.exitCode : (err.oclif?.exit ?? ExitCode.GENERIC)
    process.exitCode = code
    if (this.jsonEnabled()) {
      this.logJson(this.toErrorJson(isCliError(err) ? err : Object.assign(err, {exitCode: code})))
      return
    }
    // An error that is neither a CliError nor oclif's own (parse errors carry their exit code) is a bug.
    const unexpected = !isCliError(err) && code === ExitCode.GENERIC && err.oclif?.exit === undefined
    const lines = unexpected
      ? [redact(unexpectedErrorLine(err, style.red))]
      : [style.red('Error: ') + redact(firstLine(err.message))]
    if (isCliError(err) && err.hint) lines.push('  ' + style.dim('→ ') + redact(err.hint))
    if (verbose && err.stack) lines.push(style.dim(redact(err.stack)))
    // --verbose: what led to it too (a wrapped API, MySQL or guard failure), each redacted like the message
    for (let c = (err as {cause?: unknown}).cause, depth = 0; verbose && c !== undefined && depth < 5; c = (c as {cause?: unknown}).cause, depth++) {
      lines.push(style.dim(redact(`Caused by: ${c instanceof Error ? (c.stack ?? c.message) : String(c)}`)))
    }
    process.stderr.write(lines.join('\n') + '\n')
    // Swallow: exit code is set; oclif must not print the error a second time.
    return undefined
  }
}

function firstLine(msg: string): string {
  // Parse errors from oclif are multi-line with useful detail (e.g. "See more help with --help"); keep them,
  // but never let one line (a value quoted from user data) flood the terminal.
  return msg
    .trimEnd()
    .split('\n')
    .map((l) => truncateText(l, 1000))
    .join('\n')
}
