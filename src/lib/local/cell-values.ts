// Cell values as pandas and the Go CLI read them: what counts as missing, what reads as a number.
/** Values the Go CLI treats as missing for type checks (docs/protocol.md#preflight-checks: curated sentinels on the raw cell, or whitespace). */
const CURATED_NA = new Set(['', 'NA', 'N/A', 'n/a', 'NULL', 'null', 'None', 'none', 'NaN', 'nan', '<NA>', '#N/A'])
export function isCuratedNA(raw: string): boolean {
  return CURATED_NA.has(raw) || raw.trim() === ''
}

/** pandas' default na_values: what the ingestor reads as null. Note `none` (lowercase) is NOT in it. */
const PANDAS_NA = new Set(['', '#N/A', '#N/A N/A', '#NA', '-1.#IND', '-1.#QNAN', '-NaN', '-nan', '1.#IND', '1.#QNAN', '<NA>', 'N/A', 'NA', 'NULL', 'NaN', 'None', 'n/a', 'nan', 'null'])
export function isPandasNA(raw: string): boolean {
  return PANDAS_NA.has(raw)
}

/**
 * A number as pandas reads it: [+-], digits with an optional fraction (or a bare fraction), an optional
 * exponent. Written so the digits before a '.' have one parse only: the `[0-9]+\.?[0-9]*` form let a
 * long digit run with a bad last character split two ways at every point (quadratic, seconds per cell).
 */
export const NUMBER_TEXT = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/

/** `s` without the run of `ch` at its end (a scan from the end: a /x+$/ regex retries at every x of a long run). */
export function trimEndChar(s: string, ch: string): string {
  let e = s.length
  while (e > 0 && s[e - 1] === ch) e--
  return s.slice(0, e)
}
