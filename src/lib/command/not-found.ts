// oclif's command_not_found hook (package.json oclif.hooks): an unknown command or topic is exit 1
// (README, like gh and kubectl), named with spaces as the user typed it, with the closest commands
// as "did you mean" suggestions. Under --json the error is the one JSON document on stdout.
import type {Hook, Interfaces} from '@oclif/core'

import {editDistance} from '../output/edit-distance.js'
import {ExitCode} from '../output/errors.js'
import {style} from '../output/style.js'

/**
 * The commands and topics (space-separated) closest to what was typed, best first. A candidate of
 * n words is compared with the first n words typed; it qualifies within a third of its length
 * and at most one edit further than the best.
 */
export function suggestCommands(typed: string[], candidates: string[], max = 3): string[] {
  const scored: {c: string; d: number}[] = []
  for (const c of new Set(candidates)) {
    const n = c.split(' ').length
    if (typed.length < n) continue
    const d = editDistance(typed.slice(0, n).join(' ').toLowerCase(), c)
    // Prefer the full command over its topic when both are as close.
    if (d <= Math.max(1, Math.floor(c.length / 3))) scored.push({c, d: d - n / 100})
  }
  scored.sort((x, y) => x.d - y.d || x.c.localeCompare(y.c))
  // Only the near-best: one typo away from `push` should not also offer `logs` and `runs`.
  return scored.filter((s) => s.d <= scored[0].d + 1).slice(0, max).map((s) => s.c)
}

/** Prints the unknown-command error (human or --json) and sets exit code 1. */
export function reportUnknownCommand(config: Interfaces.Config, id: string, argv: string[]): void {
  const words = id.split(/[: ]/).filter(Boolean)
  const visible = config.commands.filter((c) => !c.hidden).map((c) => c.id.split(':').join(' '))
  const topics = config.topics.filter((t) => !t.hidden).map((t) => t.name.split(':').join(' '))
  // Name the unknown part as typed: the known topic prefix plus the first word that is not one.
  let known = 0
  while (known < words.length && topics.includes(words.slice(0, known + 1).join(' '))) known++
  const unknown = words.slice(0, Math.min(known + 1, words.length)).join(' ')
  const prefix = words.slice(0, known).join(' ')
  // Not the topic already typed, nor a topic when one of its commands is suggested.
  const ranked = suggestCommands(words, [...visible, ...topics].filter((c) => c.split(' ').length > known))
  const suggestions = ranked.filter((s) => !ranked.some((o) => o !== s && o.startsWith(s + ' ')))
  const helpFor = prefix ? `${config.bin} ${prefix} --help` : `${config.bin} --help`
  const message = `unknown command "${unknown}" for "${config.bin}"`
  const hint = suggestions.length > 0
    ? `did you mean ${suggestions.map((s) => `"${config.bin} ${s}"`).join(' or ')}? All commands: ${helpFor}`
    : `see the commands with: ${helpFor}`
  process.exitCode = ExitCode.GENERIC
  if (argv.includes('--json')) {
    process.stdout.write(JSON.stringify({status: 'error', error: message, exit_code: ExitCode.GENERIC, reason: 'unknown_command', hint, suggestions: suggestions.map((s) => `${config.bin} ${s}`)}, null, 2) + '\n')
    return
  }
  process.stderr.write(`${style.red('Error: ')}${message}\n  ${style.dim('→ ')}${hint}\n`)
}

const hook: Hook.CommandNotFound = async function (opts) {
  reportUnknownCommand(opts.config, opts.id, [...(opts.argv ?? []), ...process.argv.slice(2)])
}

export default hook
