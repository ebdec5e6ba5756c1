// Help text rendered at build time (scripts/cache-help-text.mjs) for the case the build can foresee:
// stdout not a terminal (80 columns for oclif) and no colour (scripts, CI logs, `| less`, `| grep`).
// There `--help` prints a stored string instead of loading oclif's formatters, which cost more than
// everything else in a help run. The text is what ./help.ts renders (oclif's own formatters), stamped
// with the versions and manifest sizes it was made from; any difference, a terminal, a width or colour
// setting, or a command line it does not hold sends the request to ./help.ts as before.
// test/e2e/help-fast.test.ts compares every command and topic with oclif's own output.
import {readFileSync, statSync} from 'node:fs'
import {createRequire} from 'node:module'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {fastHelpApplies, oclifLib, type PackageJson, pluginDirs, userAgent} from './help.js'

/** Stands for oclif's user agent in the stored root help (it names this machine's platform and Node). */
export const USER_AGENT_MARK = '\u0000user-agent\u0000'

export interface HelpTextCache {
  stamp: Record<string, string | number>
  /** `help <words>` (help asked for with --help/-h) or `bare <words>` (words alone) → the text printed. */
  texts: Record<string, string>
}

/** The cache's key for a command line of words and help flags, or undefined when it holds nothing of this form. */
export function helpKey(argv: string[], helpFlags: string[]): string | undefined {
  const words = argv.filter((a) => !helpFlags.includes(a))
  if (argv.length - words.length > 1 || words.some((w) => w.startsWith('-') || w.includes('=') || w.includes(':') || w === 'help')) return undefined
  return `${words.length < argv.length ? 'help' : 'bare'} ${words.join(' ')}`
}

/** What the stored texts depend on besides the terminal: our version and manifest, oclif's, the plugins'. */
export function helpStamp(rootDir: string, pjson: PackageJson): Record<string, string | number> | undefined {
  const stamp: Record<string, string | number> = {[pjson.name]: pjson.version}
  try {
    stamp['oclif.manifest.json'] = statSync(path.join(rootDir, 'oclif.manifest.json')).size
    stamp['@oclif/core'] = (JSON.parse(readFileSync(path.join(path.dirname(oclifLib()), 'package.json'), 'utf8')) as {version: string}).version
    for (const [name, dir] of pluginDirs(rootDir, pjson)) {
      if (!dir) return undefined
      stamp[name] = (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {version: string}).version
      stamp[`${name} manifest`] = statSync(path.join(dir, 'oclif.manifest.json')).size
    }
  } catch {
    return undefined
  }
  return stamp
}

/**
 * What the stored texts say about `argv`: `printed` (it was help, now on stdout); `render` (help the fast
 * path answers, but for a terminal or in colour: ./help.ts renders it); `not-help` (nothing the fast path
 * answers: the cache holds every command line it does); `unknown` (no usable cache).
 */
export async function cachedHelp(argv: string[], root: URL, pjson: PackageJson): Promise<'printed' | 'render' | 'not-help' | 'unknown'> {
  if (!fastHelpApplies(pjson)) return 'unknown'
  let cache: HelpTextCache
  try {
    cache = JSON.parse(readFileSync(new URL('help-text.json', import.meta.url), 'utf8')) as HelpTextCache
  } catch {
    return 'unknown'
  }
  const stamp = helpStamp(fileURLToPath(root), pjson)
  if (!stamp || JSON.stringify(stamp) !== JSON.stringify(cache.stamp)) return 'unknown'
  const key = helpKey(argv, [...new Set([...(pjson.oclif.additionalHelpFlags ?? []), '--help'])])
  const text = key === undefined ? undefined : cache.texts[key]
  if (text === undefined) return 'not-help'
  if (process.stdout.isTTY || process.env.OCLIF_COLUMNS) return 'render'
  const lib = oclifLib()
  // colour as oclif's formatters would decide it (CI, COLORTERM, FORCE_COLOR … turn it on off a terminal)
  const ansis = createRequire(path.join(lib, 'index.js'))('ansis') as {isSupported: () => boolean}
  if (ansis.isSupported()) return 'render'
  process.stdout.write(text.includes(USER_AGENT_MARK) ? text.replaceAll(USER_AGENT_MARK, await userAgent(pjson, lib)) : text)
  return 'printed'
}
