// Waiting in tests: poll a condition until it holds, with a deadline (never a fixed sleep before an assert).
// The deadline is a hang guard, not a timing: generous, so a loaded machine only makes a test slower.

/** Polls `fn` every `everyMs` until it returns a truthy value (returned), or throws naming `what` after `timeoutMs`. */
export async function until<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 60_000, everyMs = 50): Promise<Exclude<T, undefined | null | false>> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v) return v as Exclude<T, undefined | null | false>
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}
