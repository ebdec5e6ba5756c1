import {readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'

import type {Hook} from '@oclif/core'

/**
 * @oclif/plugin-autocomplete writes `_tracebloc` with `#compdef tracebloc` on the first line and
 * `compdef tb=tracebloc` inside the function body. compinit reads only the first line, so `tb <TAB>`
 * completes nothing until `tracebloc <TAB>` has run once in that shell. After every `autocomplete`
 * run (which rebuilds the cache) the short names are added to the `#compdef` line.
 */
const hook: Hook<'postrun'> = async function ({Command}) {
  const aliases = this.config.binAliases ?? []
  if (Command.id !== 'autocomplete' || aliases.length === 0) return
  const file = path.join(this.config.cacheDir, 'autocomplete', 'functions', 'zsh', `_${this.config.bin}`)
  const text = await readFile(file, 'utf8').catch(() => undefined)
  if (text === undefined) return
  const fixed = compdefForAllNames(text, this.config.bin, aliases)
  if (fixed !== text) await writeFile(file, fixed)
}

export default hook

/** `#compdef tracebloc` → `#compdef tracebloc tb` (unchanged when already so or not a compdef file). */
export function compdefForAllNames(text: string, bin: string, aliases: string[]): string {
  const nl = text.indexOf('\n')
  const first = nl === -1 ? text : text.slice(0, nl)
  if (!first.startsWith('#compdef ')) return text
  const names = first.slice('#compdef '.length).trim().split(/\s+/)
  const want = [bin, ...aliases].filter((n) => !names.includes(n))
  if (want.length === 0) return text
  return `#compdef ${[...names, ...want].join(' ')}` + (nl === -1 ? '' : text.slice(nl))
}
