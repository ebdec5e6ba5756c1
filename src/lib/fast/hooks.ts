// oclif runs lifecycle hooks around every command (`init` before help and commands, `prerun`,
// `postrun`, `finally` after). The fast paths do not, so they answer only while every declared hook
// of those events is one known to do nothing for the commands they answer. A hook added later (an
// update notice, say) makes them decline, and oclif runs it, until it is listed here or called from
// the fast path too.
import type {PackageJson} from './help.js'

const LIFECYCLE_EVENTS = ['init', 'prerun', 'preparse', 'postrun', 'finally']

/** Hooks that are no-ops for help, version, validate and `autocomplete fish`. */
const INERT_HOOKS: Record<string, string[]> = {
  // Rewrites the zsh completion cache after the plugin's `autocomplete` command only.
  postrun: ['./dist/hooks/zsh-completion-aliases.js'],
  // The daily update notice: help, version, validate and completion scripts are answered without it
  // (they are offline, local answers); every command that reaches oclif still shows it.
  finally: ['./dist/hooks/update-notice.js'],
}

/** True when skipping oclif's lifecycle hooks changes nothing. */
export function hooksAllowFastPath(pjson: Pick<PackageJson, 'oclif'>): boolean {
  const hooks = (pjson.oclif?.hooks ?? {}) as Record<string, unknown>
  return LIFECYCLE_EVENTS.every((event) => {
    const declared = hooks[event]
    if (declared === undefined) return true
    const list = (Array.isArray(declared) ? declared : [declared]).map((h) => (typeof h === 'string' ? h : JSON.stringify(h)))
    return list.every((h) => INERT_HOOKS[event]?.includes(h))
  })
}
