// resource.Quantity parsing (k8s.io/apimachinery/pkg/api/resource): the same accept/reject
// decisions and error strings, the value as a float (enough to compare requests with limits).

export const QUANTITY_FORMAT_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
const SPLIT = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/
const BINARY: Record<string, number> = {Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60}
const DECIMAL: Record<string, number> = {n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18}

/** The quantity's value, or the error string ParseQuantity returns. */
export function parseQuantity(input: unknown): {value: number} | {error: string} {
  if (typeof input === 'number') return Number.isFinite(input) ? {value: input} : {error: QUANTITY_FORMAT_ERROR}
  if (typeof input !== 'string') return {error: QUANTITY_FORMAT_ERROR}
  const s = input.trim()
  const m = SPLIT.exec(s)
  if (!m) return {error: QUANTITY_FORMAT_ERROR}
  const [, num, suffix] = m
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(num)) return {error: 'unable to parse numeric part of quantity'}
  let mult: number | undefined = BINARY[suffix] ?? DECIMAL[suffix]
  if (mult === undefined) {
    const e = /^[eE]([-+]?\d+)$/.exec(suffix)
    if (e) mult = 10 ** Number(e[1])
  }
  if (mult === undefined) return {error: "unable to parse quantity's suffix"}
  return {value: Number(num) * mult}
}

/** How the API server prints a quantity back in messages (its canonical form for simple inputs). */
export function quantityString(input: unknown): string {
  return typeof input === 'string' ? input.trim() : String(input)
}
