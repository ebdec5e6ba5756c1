// Generated worst cases for a regex literal, from its own atoms: the literal runs it contains (and pairs of
// them), one character per class or escape, and a few generic characters, each pumped to about a million
// characters and ended by characters that make the match fail late. Super-linear backtracking needs a
// pump that two parts of the pattern can both consume; the pattern's own atoms are where such pumps come
// from. Hand-written cases (redos.test.ts WORST) cover what this cannot guess.

const CLASS_SAMPLE: Record<string, string> = {d: '1', D: 'a', s: ' ', S: 'a', w: 'a', W: '-', b: '', B: ''}
const GENERIC = ['a', 'A', '1', ' ', '\t', '-', '_', '.', '/', ':', ',', '=', '"', "'", '\\', '|']
// a character no pattern expects there, the same after a line break (`$`, `^` with /m), and alphanumerics (negated classes)
const ENDINGS = ['!', '\n!', '0a']

/** The pumps of a regex source: literal runs, adjacent pairs of them, one sample per class, generic chars. */
export function pumps(source: string): string[] {
  const runs: string[] = []
  const chars = new Set<string>(GENERIC)
  let run = ''
  const end = () => {
    if (run) runs.push(run)
    run = ''
  }
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!
    if (c === '\\') {
      const n = source[++i] ?? ''
      if (n in CLASS_SAMPLE) {
        end()
        if (CLASS_SAMPLE[n]) chars.add(CLASS_SAMPLE[n])
      } else if (n === 'n') run += '\n'
      else if (n === 't') run += '\t'
      else if (n === 'r') run += '\r'
      else if (n === 'u' && source[i + 1] === '{') {
        end()
        i = source.indexOf('}', i)
      } else if (n === 'u') {
        run += String.fromCharCode(Number.parseInt(source.slice(i + 1, i + 5), 16))
        i += 4
      } else if (n === 'x') {
        run += String.fromCharCode(Number.parseInt(source.slice(i + 1, i + 3), 16))
        i += 2
      } else run += n
    } else if (c === '[') {
      end()
      // one member of the class (or, negated, a character outside the usual ones)
      let j = i + 1
      const negated = source[j] === '^'
      if (negated) j++
      const first = source[j] === '\\' ? (CLASS_SAMPLE[source[j + 1]!] ?? source[j + 1]) : source[j]
      if (!negated && first) chars.add(first)
      while (j < source.length && !(source[j] === ']' && j > i + 1 + (negated ? 1 : 0))) j += source[j] === '\\' ? 2 : 1
      i = j
    } else if (c === '{') {
      end()
      i = source.indexOf('}', i)
    } else if ('()|?*+^$.'.includes(c)) {
      // a quantifier binds the run's last character, not the whole run
      if ('?*+'.includes(c) && run.length > 1) {
        const last = run.slice(-1)
        run = run.slice(0, -1)
        end()
        runs.push(last)
      } else end()
      if (c === '(' && source[i + 1] === '?') i += source[i + 2] === '<' ? 3 : 2
    } else run += c
  }
  end()
  const out = new Set<string>()
  for (const r of runs) {
    out.add(r)
    for (const ch of r) chars.add(ch)
  }
  for (let i = 0; i + 1 < runs.length; i++) out.add(runs[i]! + runs[i + 1]!)
  for (const ch of chars) out.add(ch)
  return [...out].filter(Boolean)
}

/** Every generated attack of a regex source: each pump repeated to about `size` characters, each ending. */
export function* attacks(source: string, size: number): Generator<string> {
  for (const p of pumps(source)) {
    const body = p.repeat(Math.max(1, Math.ceil(size / p.length)))
    for (const e of ENDINGS) yield body + e
  }
}
