// SIGINT/SIGTERM abort the run through one AbortController so every step stops and cleanup runs in
// `finally`; a second signal exits at once (the user insisted).
import {InterruptedError} from '../output/errors.js'

export function trapSignals(): {signal: AbortSignal; interruptedBy: () => string | undefined; release: () => void} {
  const ac = new AbortController()
  let by: string | undefined
  const handler = (sig: NodeJS.Signals) => {
    if (by) {
      process.stderr.write(`\nReceived ${sig} again: exiting without waiting for cleanup.\n`)
      process.exit(130)
    }
    by = sig
    ac.abort(new InterruptedError(`interrupted by ${sig}`))
  }
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
  return {
    signal: ac.signal,
    interruptedBy: () => by,
    release: () => {
      process.off('SIGINT', handler)
      process.off('SIGTERM', handler)
    },
  }
}
