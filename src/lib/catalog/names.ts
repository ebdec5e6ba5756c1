// Dataset names on their way into SQL and paths. A name is checked against the ingestor's table-name rule
// before anything is built from it, then backtick-quoted anyway; names read back from MySQL, the cluster,
// client-pvc or the local cache pass the same rule before they are used. Matching is ASCII case-insensitive
// only: JavaScript's toLowerCase (like Go's EqualFold) folds look-alikes such as the Kelvin sign K into k,
// which would let "ﬁles" match "files".
import {editDistance} from '../output/edit-distance.js'
import {CliError, ExitCode} from '../output/errors.js'
import {printable as guard, quoted} from '../output/printable.js'
import {isTableName, TABLE_NAME_MAX, TABLE_NAME_RE} from '../schema/table-name.js'

export {isTableName, TABLE_NAME_MAX, TABLE_NAME_RE}
/** Physical per-ingestion table: `ds_` + the run's ingestor uuid as 32 lowercase hex digits. */
export const PHYSICAL_RE = /^ds_[0-9a-f]{32}$/
export const DATABASE = 'training_test_datasets'
export const RUNS_TABLE = 'tracebloc_ingest_runs'
export const META_TABLE = 'tracebloc_ingest_meta'
export const SYSTEM_TABLES = new Set([RUNS_TABLE, META_TABLE])

/** Why `name` fails the table-name rule (undefined when it passes), naming look-alike characters. */
export function nameProblem(name: string): string | undefined {
  if (isTableName(name)) return undefined
  const bad = [...name].find((ch) => !/[A-Za-z0-9_]/.test(ch))
  return name === ''
    ? 'it is empty'
    : name.length > TABLE_NAME_MAX
      ? `it is ${name.length} characters long (at most ${TABLE_NAME_MAX})`
      : /^[0-9]/.test(name)
        ? 'it starts with a digit'
        : bad && bad.codePointAt(0)! > 0x7f
          ? `it contains the non-ASCII character U+${bad.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} (a look-alike of an ASCII letter?)`
          : bad
            ? `it contains ${quoted(bad)}`
            : 'it starts with an underscore'
}

const RULE_HINT = `names start with an ASCII letter, then letters, digits and underscores ([A-Za-z][A-Za-z0-9_]*, ≤ ${TABLE_NAME_MAX} chars)`

/** Refuse a user-supplied name before any exec: exit 2 with what is wrong, including look-alike characters. */
export function validateDatasetName(name: string, what = 'dataset name'): string {
  const why = nameProblem(name)
  if (why === undefined) return name
  throw new CliError(`invalid ${what} ${printable(name)}: ${why}`, {exitCode: ExitCode.BAD_INPUT, hint: RULE_HINT, reason: 'invalid_name'})
}

/**
 * Refuse a name read from the cluster (a run's ConfigMap, an Event, a Job), client-pvc or the local cache
 * that fails the rule a typed name must pass. Exit 7: nothing the user typed is wrong; the cluster state is,
 * and the step it would have fed (removing files on client-pvc, cleaning up after a run) does not run.
 */
export function untrustedName(name: string, from: string, hint?: string): CliError {
  return new CliError(`refusing the table name ${printable(name)} read from ${from}: ${nameProblem(name) ?? 'it is not a valid name'}; nothing was removed`, {
    exitCode: ExitCode.STAGING,
    hint: hint ?? `someone or something changed ${from}; check it (${RULE_HINT})`,
    reason: 'untrusted_name',
  })
}

/** A backtick-quoted identifier; the name must already satisfy the table-name rule (checked again here). */
export function quoteIdent(name: string): string {
  if (!isTableName(name) && !SYSTEM_TABLES.has(name) && name !== DATABASE) throw new Error(`refusing to quote unchecked identifier ${printable(name)}`)
  return '`' + name.replace(/`/g, '``') + '`'
}

export const qualifiedTable = (table: string) => `${quoteIdent(DATABASE)}.${quoteIdent(table)}`

/**
 * A SQL string literal that means the same under every sql_mode: quotes doubled, and the characters whose
 * meaning depends on NO_BACKSLASH_ESCAPES (backslash) or that no name needs (NUL, controls) refused.
 */
export function sqlString(value: string): string {
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  if (/[\\\u0000-\u001f\u007f]/.test(value)) throw new Error(`refusing to put ${printable(value)} into SQL`)
  return `'${value.replace(/'/g, "''")}'`
}

/** ASCII-only lower-casing: no Unicode folding (ſ, K) can make two different names equal. */
export function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32))
}

export const sameName = (a: string, b: string) => asciiLower(a) === asciiLower(b)

/** A name inside a message, in quotes, through the output guard (control, escape, bidi and non-ASCII characters escaped). */
export const printable = quoted

/** For terminal output of text read from the cluster (a name, an error line): through the output guard, unquoted. */
export const sanitize = (s: string) => guard(s)

/** Up to `n` existing names closest to `name` (edit distance, ASCII case-insensitive), best first. */
export function nearestNames(name: string, names: string[], n = 3): string[] {
  const q = asciiLower(name)
  return names
    .map((x) => {
      const l = asciiLower(x)
      return {x, d: Math.min(q.length, l.length) >= 3 && (l.includes(q) || q.includes(l)) ? 1 + Math.abs(l.length - q.length) / 100 : editDistance(q, l)}
    })
    .filter((c) => c.d <= Math.max(2, Math.floor(q.length / 2)))
    .sort((a, b) => a.d - b.d || (a.x < b.x ? -1 : 1))
    .slice(0, n)
    .map((c) => c.x)
}
