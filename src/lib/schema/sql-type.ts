// SQL column types as the ingestor takes them (docs/protocol.md#sql-types): a base
// type and, where it has them, its numeric parameters. Nothing else — no modifiers, quotes, comments or
// second statements — so a value from --schema or an ingest config can never carry SQL to the cluster.
// Its own module so the CSV range workers can use it without loading the schema validator.

/** The base of an SQL type name ("varchar(64)" → "VARCHAR"). */
export function sqlBaseType(type: string): string {
  return type.trim().toUpperCase().split('(')[0].trim().split(/\s+/)[0] ?? ''
}

// [count allowed, per-parameter range]; undefined = the type takes no parameters
const n = (max: number, min = 1): [number, number] => [min, max]
const GRAMMAR: Record<string, {args: Array<[number, number]>; need?: number; names: string}> = {
  VARCHAR: {args: [n(65_535)], need: 1, names: 'length'},
  CHAR: {args: [n(255, 0)], names: 'length'},
  TEXT: {args: [n(4_294_967_295)], names: 'length'},
  INT: {args: [n(255)], names: 'display width'},
  INTEGER: {args: [n(255)], names: 'display width'},
  TINYINT: {args: [n(255)], names: 'display width'},
  SMALLINT: {args: [n(255)], names: 'display width'},
  MEDIUMINT: {args: [n(255)], names: 'display width'},
  BIGINT: {args: [n(255)], names: 'display width'},
  FLOAT: {args: [n(255), n(30, 0)], names: 'precision, scale'},
  DOUBLE: {args: [n(255), n(30, 0)], names: 'precision, scale'},
  DECIMAL: {args: [n(65), n(30, 0)], names: 'precision, scale'},
  NUMERIC: {args: [n(65), n(30, 0)], names: 'precision, scale'},
  BOOLEAN: {args: [], names: ''},
  BOOL: {args: [], names: ''},
  DATE: {args: [], names: ''},
  DATETIME: {args: [n(6, 0)], names: 'fractional-second digits'},
  TIMESTAMP: {args: [n(6, 0)], names: 'fractional-second digits'},
  TIME: {args: [n(6, 0)], names: 'fractional-second digits'},
  BLOB: {args: [n(4_294_967_295)], names: 'length'},
  LONGBLOB: {args: [], names: ''},
}

/** Base SQL types the ingestor accepts (Go CLI list, cli#213, same ingestor vintage as the vendored schema). */
export const SQL_TYPES = Object.keys(GRAMMAR)

// Matched against the trimmed type. The blank before a parenthesis belongs to the parenthesis, so a run
// of blanks has one parse (a free \s* next to (?:\s+…)* and a trailing \s* made long blank runs n³).
export const SQL_TYPE_SHAPE = /^([A-Za-z]+)(?:\s*\(([^()]*)\))?((?:\s+[A-Za-z]+)*)$/
/** MySQL's attributes of numeric types (the ingestor keeps them: `INTEGER UNSIGNED`). */
const NUMERIC_ATTRIBUTES = new Set(['UNSIGNED', 'SIGNED', 'ZEROFILL'])
const NUMERIC = new Set(['INT', 'INTEGER', 'TINYINT', 'SMALLINT', 'MEDIUMINT', 'BIGINT', 'FLOAT', 'DOUBLE', 'DECIMAL', 'NUMERIC'])

/**
 * Why `type` is not a column type the ingestor takes, or undefined when it is. `unknown` tells an
 * unknown base type (the ingestor's "Unknown data type") from a known one used wrongly.
 */
export function sqlTypeProblem(type: string): {unknown: boolean; why: string} | undefined {
  const m = SQL_TYPE_SHAPE.exec(type.trim())
  const base = (/^\s*([A-Za-z]+)/.exec(type)?.[1] ?? '').toUpperCase()
  if (!m) {
    if (!SQL_TYPES.includes(base)) return {unknown: true, why: 'not a known SQL type'}
    return {unknown: false, why: `write it as ${base} or ${base}(n${GRAMMAR[base]!.args.length > 1 ? '[,m]' : ''}): no other words, quotes or unbalanced parentheses`}
  }
  const name = m[1]!.toUpperCase()
  const g = GRAMMAR[name]
  if (!g) return {unknown: true, why: 'not a known SQL type'}
  const args = m[2] === undefined ? [] : m[2].split(',').map((a) => a.trim())
  if (m[2] !== undefined && g.args.length === 0) return {unknown: false, why: `${name} takes no parameters`}
  if (args.length < (g.need ?? 0)) return {unknown: false, why: `${name} needs a ${g.names}, e.g. ${name}(255)`}
  if (args.length > g.args.length) return {unknown: false, why: `${name} takes at most ${g.args.length} parameter${g.args.length === 1 ? '' : 's'} (${g.names})`}
  for (const [i, a] of args.entries()) {
    const [lo, hi] = g.args[i]!
    if (!/^\d{1,10}$/.test(a) || Number(a) < lo || Number(a) > hi) return {unknown: false, why: `${name} ${g.names.split(', ')[i]} must be an integer from ${lo} to ${hi.toLocaleString('en-US')}`}
  }
  if (args.length === 2 && Number(args[1]) > Number(args[0])) return {unknown: false, why: `${name} scale cannot exceed its precision`}
  const attrs = (m[3] ?? '').trim().split(/\s+/).filter(Boolean)
  const badAttr = attrs.find((a, i) => !NUMERIC.has(name) || !NUMERIC_ATTRIBUTES.has(a.toUpperCase()) || attrs.findIndex((b) => b.toUpperCase() === a.toUpperCase()) !== i)
  if (badAttr !== undefined) return {unknown: false, why: NUMERIC.has(name) ? `only UNSIGNED, SIGNED or ZEROFILL may follow ${name}` : `nothing may follow ${name}${g.args.length > 0 ? `(${g.names})` : ''}`}
  return undefined
}
