// Fast start. @oclif/core's entry point loads its whole runtime, several times a bare `node -e 0`.
// What people run in tight loops is answered here, from bin/run.js, before oclif is imported, when
// the command line is one this module fully understands: `version`, `ingest validate <files>`
// (--json, --verbose), help for the root, a topic or a command (./help.ts) and `autocomplete fish`
// (./fish.ts). Anything else (unknown flags, a missing file argument, a command to run), or a
// lifecycle hook these paths would skip (./hooks.ts), returns false and goes through oclif unchanged.
// Output and exit codes are identical to oclif's (same functions); test/e2e/validate.test.ts and
// help-fast.test.ts run both paths. TRACEBLOC_FAST_PATH=0 disables this.
import {readFileSync} from 'node:fs'

import {unexpectedErrorLine} from '../output/errors.js'
import {redact} from '../output/redact.js'
import type {PackageJson} from './help.js'
import {hooksAllowFastPath} from './hooks.js'

const GLOBAL_FLAGS = new Set(['--json', '--verbose'])

export async function runFast(argv: string[], root: URL): Promise<boolean> {
  if (process.env.TRACEBLOC_FAST_PATH === '0') return false
  const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as PackageJson
  // A lifecycle hook the fast paths would skip (./hooks.ts): let oclif run the command and its hooks.
  if (!hooksAllowFastPath(pkg)) return false
  if (await answersHelp(argv, root, pkg)) return true
  if (argv.length === 2 && argv[0] === 'autocomplete' && argv[1] === 'fish') {
    const {runFastFish} = await import('./fish.js')
    return runFastFish(root)
  }
  const words: string[] = []
  const flags = new Set<string>()
  let endOfFlags = false
  for (const a of argv) {
    if (!endOfFlags && a === '--') endOfFlags = true
    else if (!endOfFlags && a.startsWith('-') && a !== '-') {
      if (!GLOBAL_FLAGS.has(a)) return false
      flags.add(a)
    } else words.push(a)
  }
  const json = flags.has('--json')
  const io = {
    out: (line: string) => {
      if (!json) process.stdout.write(redact(line) + '\n')
    },
    note: (line: string) => {
      if (!json) process.stderr.write(redact(line) + '\n')
    },
  }
  const emitJson = (doc: unknown) => process.stdout.write(redact(JSON.stringify(doc, null, 2)) + '\n')

  if (words.length === 1 && words[0] === 'version') {
    const {versionInfo, versionLines} = await import('../version-info.js')
    const info = versionInfo(pkg.version)
    if (json) emitJson(info)
    else for (const line of versionLines(info)) io.out(line)
    return true
  }

  if (words.length >= 3 && words[0] === 'ingest' && words[1] === 'validate') {
    const {validateFiles} = await import('../schema/files.js')
    try {
      const {result, exitCode} = validateFiles(words.slice(2), io)
      if (json) emitJson(result)
      if (exitCode !== 0) process.exitCode = exitCode
    } catch (error) {
      // Same rendering as BaseCommand for an unexpected error: one line, the stack only with --verbose.
      const e = error as Error
      const line = unexpectedErrorLine(e)
      if (json) emitJson({status: 'error', error: redact(line), reason: 'unexpected_error', exit_code: 1})
      else process.stderr.write(redact(line) + '\n' + (flags.has('--verbose') && e.stack ? redact(e.stack) + '\n' : ''))
      process.exitCode = 1
    }
    return true
  }
  return false
}

/** Help (`--help`, `-h`, a bare topic, no arguments) from the manifests: src/lib/fast/help.ts. */
async function answersHelp(argv: string[], root: URL, pkg: PackageJson): Promise<boolean> {
  if (argv.includes('--')) return false
  const flagged = argv.some((a) => a === '--help' || a === '-h')
  const bare = argv.length === 0 || argv.every((a) => !a.startsWith('-'))
  if (!flagged && !(bare && argv.length <= 2)) return false
  // off a terminal, the text rendered at build time (./help-cache.ts); else rendered now
  const {cachedHelp} = await import('./help-cache.js')
  const cached = await cachedHelp(argv, root, pkg)
  if (cached === 'printed') return true
  if (cached === 'not-help') return false
  const {runFastHelp} = await import('./help.js')
  return runFastHelp(argv, root)
}
