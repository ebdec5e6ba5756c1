// Local validation of ingest.yaml with the ingestor's semantics: YAML 1.1 parsing (PyYAML),
// the vendored JSON Schema (precompiled at build time, no schema compilation at run time),
// Python-jsonschema error set and order, plus the ingestor's runtime-only checks.
import {runtimeIssues} from './checks.js'
import type {SchemaIssue} from './issues.js'
import {compareOrder, comparePaths, dottedPath, isMapping, schemaIssues} from './validate.js'

export type {SchemaIssue} from './issues.js'
export {loadIngestYaml, type LoadedYaml} from './yaml.js'
export {dumpIngestYaml} from './dump.js'
export {SCHEMA_ID, SCHEMA_SHA256, SCHEMA_VERSION} from './version.js'
export {RESERVED_COLUMNS, SQL_TYPES, TABLE_NAME_MAX, TABLE_NAME_RE, sqlBaseType, sqlTypeProblem} from './checks.js'
export {TOP_LEVEL_NOT_MAPPING} from './validate.js'

/**
 * Every problem the ingestor would report for this parsed config, as it would order them:
 * schema errors (jsonschema Draft 7 parity) and then the runtime checks, stably sorted by path
 * (elementwise, integers numerically). Empty when the config is valid.
 */
export function validateIngestConfig(value: unknown): SchemaIssue[] {
  const raw = schemaIssues(value)
  // Runtime checks never double-report a value the schema already rejected.
  const extra = isMapping(value) ? runtimeIssues(value).filter((x) => !raw.some((r) => dottedPath(r.path) === dottedPath(x.path))) : []
  const schemaSorted = raw.sort((a, b) => compareOrder(a.order, b.order))
  return [...schemaSorted, ...extra]
    .map((issue, i) => ({issue, i}))
    .sort((a, b) => comparePaths(a.issue.path, b.issue.path) || a.i - b.i)
    .map(({issue}) => ({path: dottedPath(issue.path), message: issue.message, keyword: issue.keyword}))
}

/** The ingestor's report: header, then `  <path>: <message>` per issue (no trailing newline). */
export function formatIssues(issues: SchemaIssue[]): string {
  return ['ingest.yaml validation failed:', ...issues.map((i) => `  ${i.path}: ${i.message}`)].join('\n')
}
