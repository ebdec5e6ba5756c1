// The fish completion script, generated from the command list (ids, summaries, flags, args) so it
// never falls out of date. Used by `autocomplete fish` and by its fast path (src/lib/fast/fish.ts),
// which passes the same list read from the manifests; type-only imports keep oclif unloaded.
import type {Command, Interfaces} from '@oclif/core'

const q = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
const firstLine = (s?: string) => (s ?? '').split('\n')[0].trim()
const render = (s: string, bin: string) => s.replace(/<%=\s*config\.bin\s*%>/g, bin)

export function fishScript(bin: string, commands: Command.Loadable[], topics: Interfaces.Topic[], aliases: string[] = []): string {
  const fn = `__${bin.replace(/[^A-Za-z0-9_]/g, '_')}`
  const lines: string[] = [
    `# fish completion for ${bin} (generated from the command manifest by \`${bin} autocomplete fish\`)`,
    `function ${fn}_words --description 'the words typed after ${bin}, without flags'`,
    '    set -l words (commandline -opc)',
    '    set -e words[1]',
    '    for w in $words',
    "        string match -q -- '-*' $w; or echo $w",
    '    end',
    'end',
    `function ${fn}_is --description 'true when exactly these words have been typed'`,
    `    set -l typed (${fn}_words)`,
    '    test "$typed" = "$argv"',
    'end',
    `function ${fn}_cmd --description 'the longest known command the typed words start with'`,
    `    set -l typed (${fn}_words)`,
    '    for n in (seq (count $typed) -1 1)',
    "        set -l cand (string join ' ' $typed[1..$n])",
    `        if contains -- $cand $${fn}_commands`,
    '            echo $cand',
    '            return 0',
    '        end',
    '    end',
    '    return 1',
    'end',
    `function ${fn}_on --description 'true when the command being completed is exactly this one'`,
    `    set -l c (${fn}_cmd)`,
    '    test "$c" = "$argv"',
    'end',
    `complete -c ${bin} -f`,
  ]

  // Every node of the command tree (topics and commands) is offered after its parent's words.
  // Sorted: oclif's command list follows the order its plugins finished loading, which can vary.
  const visible = commands.filter((c) => !c.hidden).sort((a, b) => a.id.localeCompare(b.id))
  const entries = new Map<string, string>()
  for (const t of topics) if (!t.hidden) entries.set(t.name, firstLine(t.description))
  for (const c of visible) {
    entries.set(c.id, firstLine(c.summary ?? c.description))
    for (const a of c.aliases ?? []) entries.set(a, firstLine(c.summary ?? c.description))
  }
  // Implied topics (a command `a:b` with no declared topic `a`).
  for (const id of [...entries.keys()]) {
    const parts = id.split(':')
    for (let i = 1; i < parts.length; i++) {
      const t = parts.slice(0, i).join(':')
      if (!entries.has(t)) entries.set(t, '')
    }
  }
  for (const [id, raw] of [...entries.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const desc = render(raw, bin)
    const parts = id.split(':')
    const parent = parts.slice(0, -1).join(' ')
    lines.push(`complete -c ${bin} -n ${q(`${fn}_is${parent ? ' ' + parent : ''}`)} -a ${q(parts.at(-1) as string)}${desc ? ` -d ${q(desc)}` : ''}`)
  }

  const ids = visible.flatMap((c) => [c.id, ...(c.aliases ?? [])])
  lines.splice(1, 0, `set -g ${fn}_commands ${ids.map((id) => q(id.split(':').join(' '))).join(' ')}`)
  for (const c of visible) {
    for (const id of [c.id, ...(c.aliases ?? [])]) {
      const words = id.split(':').join(' ')
      const cond = q(`${fn}_on ${words}`)
      const flags = Object.entries(c.flags ?? {}) as Array<[string, Command.Flag.Cached]>
      for (const [name, f] of flags) {
        if (f.hidden) continue
        let line = `complete -c ${bin} -n ${cond} -l ${name}`
        if (f.char) line += ` -s ${f.char}`
        if (f.type === 'option') line += f.options?.length ? ` -x -a ${q(f.options.join(' '))}` : ' -r'
        if (f.summary || f.description) line += ` -d ${q(render(firstLine(f.summary ?? f.description), bin))}`
        lines.push(line)
      }
      const args = Object.values(c.args ?? {}) as Array<{options?: readonly string[]}>
      const withOptions = args.find((a) => a.options?.length)
      if (withOptions) lines.push(`complete -c ${bin} -n ${q(`${fn}_is ${words}`)} -a ${q((withOptions.options ?? []).join(' '))}`)
      else if (args.length > 0) lines.push(`complete -c ${bin} -n ${cond} -F`)
    }
  }
  // Short names (tb) complete exactly like the CLI; the helper functions skip the first word, whatever it is.
  for (const alias of aliases) lines.push(`complete -c ${alias} -w ${bin}`)
  return lines.join('\n') + '\n'
}
