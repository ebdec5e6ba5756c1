// When the update notice stays quiet. No imports: the finally hook decides this before loading anything.
const on = (v: string | undefined) => v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false'

/** Why the notice stays quiet here, or undefined when it may show. */
export function quietReason(argv: string[], env: NodeJS.ProcessEnv, stderrIsTTY: boolean): string | undefined {
  if (on(env.TRACEBLOC_NO_UPDATE_CHECK)) return 'TRACEBLOC_NO_UPDATE_CHECK'
  if (on(env.TRACEBLOC_SKIP_NEW_VERSION_CHECK)) return 'TRACEBLOC_SKIP_NEW_VERSION_CHECK'
  if (on(env.DO_NOT_TRACK)) return 'DO_NOT_TRACK'
  if (on(env.CI)) return 'CI'
  if (argv.includes('--json')) return '--json'
  if (!stderrIsTTY) return 'not a terminal'
  return undefined
}
