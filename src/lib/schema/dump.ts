// Writing an ingest.yaml the in-cluster ingestor (PyYAML, YAML 1.1) reads back to exactly the
// values we mean. js-yaml's DUMP_SCHEMA quotes every string that any YAML 1.1 or 1.2 resolver
// would retype (yes/no/on/off/y/n, ~, null, dates, 010, 0x1F, 1_000, 1:20, .inf, …), which is a
// superset of what PyYAML retypes; the round-trip test in test/unit/schema-dump.test.ts pins it.
import {dump, DUMP_SCHEMA} from 'js-yaml'

export function dumpIngestYaml(config: Record<string, unknown>): string {
  const out = dump(config, {schema: DUMP_SCHEMA, lineWidth: -1, noRefs: true, indent: 2})
  // js-yaml writes a top-level key starting with `---` or `...` plain, and at column 0 that reads as a
  // document marker: quote such keys (a plain key ends at its first `: `, or `:` at the end of the line).
  return out.replace(/^((?:---|\.\.\.)(?:[ \t][^\n]*?)?)(:(?: |$))/gm, (_, key: string, sep: string) => `'${key.replace(/'/g, "''")}'${sep}`)
}
