// Profile and environment values reach the existing flags as their defaults, so oclif keeps the
// precedence: a flag on the command line > the environment > the profile > the flag's own default.
import type {Command} from '@oclif/core'

import {SETTING_KEYS} from './keys.js'
import {resolveSettings} from './resolve.js'

type FlagDefs = NonNullable<(typeof Command)['flags']>

/** The long flag names given in argv (`--namespace x`, `--namespace=x`, `-n x` for namespace). */
export function flagsGiven(argv: string[], flags: FlagDefs): Set<string> {
  const given = new Set<string>()
  for (const a of argv) {
    if (a === '--') break
    if (a.startsWith('--')) given.add(a.slice(2).split('=')[0]!)
    else if (/^-[A-Za-z]/.test(a)) {
      const f = Object.entries(flags).find(([, d]) => (d as {char?: string}).char === a[1])
      if (f) given.add(f[0])
    }
  }
  return given
}

/** The value of `--profile` in argv, if any (read before oclif parses, to pick the defaults). */
export function profileArg(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--') break
    if (a === '--profile') return argv[i + 1]
    if (a.startsWith('--profile=')) return a.slice('--profile='.length)
  }
  return undefined
}

/** `flags` with env/profile values as defaults; unchanged when the command has none of those flags. */
export function withProfileDefaults(flags: FlagDefs | undefined, argv: string[]): FlagDefs | undefined {
  if (!flags || !('profile' in flags) || !SETTING_KEYS.some((k) => k.name in flags)) return flags
  const given = flagsGiven(argv, flags)
  const {settings} = resolveSettings({profileFlag: profileArg(argv), flagsGiven: given})
  const out: FlagDefs = {...flags}
  for (const [name, {value, origin}] of settings) {
    const def = out[name]
    if (!def || given.has(name)) continue
    // $KUBECONFIG may be a path list the kube loader merges itself; it only keeps the profile's file out.
    if (origin.source === 'env' && origin.name === 'KUBECONFIG') continue
    out[name] = {...def, default: value} as typeof def
  }
  return out
}
