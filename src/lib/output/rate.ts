// A transfer rate as people write it (`--bwlimit 8MiB`, `50Mbit`, a profile's `bwlimit`) and as we print it.
// Bytes: B, KB/MB/GB (powers of 1000) and KiB/MiB/GiB (powers of 1024); bits: bit, Kbit/Mbit/Gbit (powers
// of 1000, as link speeds are sold). A trailing `/s` is allowed. A bare number is refused: "8" could be
// bytes, KiB or megabits depending on the tool the user came from. `off` (or 0) means no cap, so a flag
// can lift a profile's cap.
import {humanBytes} from './format.js'

const BYTE_UNITS: Record<string, number> = {b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3}
const BIT_UNITS: Record<string, number> = {bit: 1 / 8, kbit: 1e3 / 8, mbit: 1e6 / 8, gbit: 1e9 / 8}

/** The lowest cap accepted: below it a push of any size would take days, and an exec stream would idle out. */
export const MIN_RATE = 1024

export const RATE_FORMS = 'a number and a unit per second: 500KiB, 8MiB, 1.5GB (bytes: B, KB/KiB, MB/MiB, GB/GiB) or 50Mbit (bits: bit, Kbit, Mbit, Gbit); off for no cap'

/** Bytes per second, `undefined` for no cap, or a problem (why the text is not a rate). */
export function parseRate(text: string): {bytesPerSecond?: number; problem?: string} {
  const t = text.trim()
  if (/^(off|0+(\.0*)?)$/i.test(t)) return {}
  const m = /^(\d+(?:\.\d+)?|\.\d+)\s*([A-Za-z]+)(?:\/s)?$/.exec(t)
  if (!m) return {problem: `"${text}" is not a rate; use ${RATE_FORMS}`}
  const [, num, unit] = m
  // "Mb"/"kb" with a lowercase b are bits in some tools and bytes in others: there only an upper-case B
  // means bytes; KiB/MiB/GiB are bytes in any case
  const u = unit!.toLowerCase()
  const perUnit = /bit$/.test(u) ? BIT_UNITS[u] : unit!.endsWith('B') || /^[kmg]ib$/.test(u) ? BYTE_UNITS[u] : undefined
  if (perUnit === undefined) return {problem: `"${text}": unknown unit "${unit}"; use ${RATE_FORMS}`}
  const bytesPerSecond = Math.round(Number(num) * perUnit)
  if (bytesPerSecond < MIN_RATE) return {problem: `"${text}" is below the lowest cap, 1 KiB/s`}
  return {bytesPerSecond}
}

/** "8.00 MiB/s". */
export function humanRate(bytesPerSecond: number): string {
  return `${humanBytes(bytesPerSecond)}/s`
}
