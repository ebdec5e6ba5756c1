// Formatting shared by every command, one form each: counts ("2,400", plurals), bytes, durations
// ("3m07s"), ages ("5m ago") and timestamps (RFC 3339 to the second, UTC).

/** 1536 → "1.50 KiB" (binary units, three significant figures). */
export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return i === 0 ? `${Math.round(n)} B` : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[i]}`
}

/** A count as every command prints one: "2,400" (en-US grouping). */
export function count(n: number): string {
  return n.toLocaleString('en-US')
}

/** "1 file", "2,400 files"; `many` for irregular plurals ("1 entry", "3 entries"). */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${count(n)} ${n === 1 ? one : many}`
}

/** A progress duration (elapsed, ETA): "42s", "3m07s", "1h05m". */
export function humanDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?'
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`
}

/** How long ago an epoch (seconds) was, the one form every "when" uses: "just now", "5m ago", "3h ago", "2d ago"; "—" when unknown. */
export function ago(epoch?: number, now = Date.now()): string {
  if (!epoch) return '—'
  const s = Math.max(0, Math.round(now / 1000 - epoch))
  if (s < 60) return 'just now'
  if (s < 3600) return `${Math.floor(s / 60)}m ago`
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`
  return `${Math.floor(s / 86400)}d ago`
}

/** RFC 3339 in UTC to the second ("2026-01-02T03:04:05Z"), the form every document and annotation uses. */
export function isoSeconds(d: Date | string | number = new Date()): string {
  return new Date(d).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/**
 * `s` without leading and trailing runs of `ch` (a scan: `/-+$/` and the like retry the run from every
 * position, quadratic on a long run that does not reach the end).
 */
export function trimChar(s: string, ch: string, ends: 'both' | 'end' = 'both'): string {
  let a = 0
  let b = s.length
  if (ends === 'both') while (a < b && s[a] === ch) a++
  while (b > a && s[b - 1] === ch) b--
  return s.slice(a, b)
}
