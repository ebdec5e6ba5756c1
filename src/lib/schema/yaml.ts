// Reading ingest.yaml the way the ingestor does: PyYAML safe_load, i.e. YAML 1.1. Unquoted
// yes/no/on/off are booleans and 2024-01-01 is a date, so `table: no` fails locally exactly as it
// fails on the cluster. Duplicate keys keep the last value (PyYAML) and produce a warning.
import {
  constructFromEvents,
  defineScalarTag,
  EVENT_ID,
  getScalarValue,
  NOT_RESOLVED,
  parseEvents,
  YAML11_SCHEMA,
  YAMLException,
  type Event,
} from 'js-yaml'

import {CliError, ExitCode} from '../output/errors.js'

// js-yaml's 1.1 bool also takes y/Y/n/N; PyYAML's resolver does not (it keeps them strings).
const PY_BOOLS: Record<string, boolean> = {}
for (const w of ['yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON']) PY_BOOLS[w] = true
for (const w of ['no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF']) PY_BOOLS[w] = false

const pyBoolTag = defineScalarTag<boolean>('tag:yaml.org,2002:bool', {
  implicit: true,
  implicitFirstChars: ['y', 'Y', 'n', 'N', 't', 'T', 'f', 'F', 'o', 'O'],
  resolve: (source) => (Object.hasOwn(PY_BOOLS, source) ? PY_BOOLS[source] : NOT_RESOLVED),
  identify: (data) => typeof data === 'boolean',
  represent: (data) => (data ? 'true' : 'false'),
})

export const PYYAML_SCHEMA = YAML11_SCHEMA.withTags(pyBoolTag)

export interface LoadedYaml {
  value: unknown
  warnings: string[]
}

/**
 * Parse one ingest.yaml document with PyYAML (YAML 1.1) semantics. An empty document gives
 * `null` (like safe_load). Throws CliError (exit 2, reason `yaml_syntax`) with line:column on
 * syntax errors and on multi-document input.
 */
export function loadIngestYaml(text: string, fileLabel = 'ingest.yaml'): LoadedYaml {
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text
  let docs: unknown[]
  let events: Event[]
  try {
    events = parseEvents(source, {filename: fileLabel})
  } catch (error) {
    throw yamlError(error, fileLabel)
  }
  checkAliasBudget(events, source, fileLabel)
  try {
    docs = constructFromEvents(events, {source, filename: fileLabel, schema: PYYAML_SCHEMA, json: true})
  } catch (error) {
    throw yamlError(error, fileLabel)
  }
  if (docs.length > 1) {
    const at = secondDocumentLine(source)
    throw new CliError(`${fileLabel}: not valid YAML: expected a single document in the stream but found another document${at ? ` (line ${at}, column 1)` : ''}`, {
      exitCode: ExitCode.BAD_INPUT,
      reason: 'yaml_syntax',
      hint: 'keep one ingest config per file (remove the extra `---` document)',
    })
  }
  return {value: docs.length === 0 ? null : (docs[0] ?? null), warnings: duplicateKeyWarnings(events, source, fileLabel)}
}

/** An ingest config has a few dozen nodes; these limits leave room for any real use of anchors. */
export const MAX_ALIASES = 100
/** Nodes of the document with every alias expanded (what validation and the ingestor would walk). */
export const MAX_EXPANDED_NODES = 100_000

/**
 * Aliases are cheap to write and costly to expand (`a: &a [x,x,…]`, `b: [*a,*a,…]` … grows
 * exponentially): count them and the expanded size from the event stream, before building anything.
 */
function checkAliasBudget(events: Event[], source: string, fileLabel: string): void {
  const sizes = new Map<string, number>()
  const stack: Array<{anchor?: string; size: number}> = []
  let aliases = 0
  const anchorOf = (ev: {anchorStart: number; anchorEnd: number}) => (ev.anchorStart >= 0 ? source.slice(ev.anchorStart, ev.anchorEnd).replace(/^[&*]/, '') : undefined)
  const tooBig = (why: string) =>
    new CliError(`${fileLabel}: ${why}`, {
      exitCode: ExitCode.BAD_INPUT,
      reason: 'yaml_too_complex',
      hint: 'an ingest config needs few or no YAML anchors/aliases (&name / *name): write the values out',
    })
  const add = (n: number) => {
    const top = stack.at(-1)
    if (!top) return
    top.size += n
    if (top.size > MAX_EXPANDED_NODES) throw tooBig(`YAML aliases expand to more than ${MAX_EXPANDED_NODES.toLocaleString('en-US')} nodes (an "alias bomb"); refusing to expand it`)
  }
  for (const ev of events) {
    switch (ev.type) {
      case EVENT_ID.DOCUMENT: {
        stack.push({size: 0})
        break
      }
      case EVENT_ID.MAPPING:
      case EVENT_ID.SEQUENCE: {
        stack.push({anchor: anchorOf(ev), size: 1})
        break
      }
      case EVENT_ID.SCALAR: {
        const a = anchorOf(ev)
        if (a !== undefined) sizes.set(a, 1)
        add(1)
        break
      }
      case EVENT_ID.ALIAS: {
        if (++aliases > MAX_ALIASES) throw tooBig(`more than ${MAX_ALIASES} YAML aliases (*name); refusing to expand them`)
        add(sizes.get(anchorOf(ev) ?? '') ?? 1)
        break
      }
      case EVENT_ID.POP: {
        const f = stack.pop()
        if (f?.anchor !== undefined) sizes.set(f.anchor, f.size)
        if (f) add(f.size)
        break
      }
    }
  }
}

function yamlError(error: unknown, fileLabel: string): CliError {
  if (error instanceof YAMLException) {
    const mark = error.mark
    const where = mark ? ` (line ${mark.line + 1}, column ${mark.column + 1})` : ''
    return new CliError(`${fileLabel}: not valid YAML: ${error.reason}${where}`, {
      exitCode: ExitCode.BAD_INPUT,
      reason: 'yaml_syntax',
      hint: mark ? `fix the YAML at ${fileLabel}:${mark.line + 1}:${mark.column + 1}` : 'fix the YAML syntax',
      cause: error,
    })
  }
  return new CliError(`${fileLabel}: not valid YAML: ${(error as Error)?.message ?? String(error)}`, {
    exitCode: ExitCode.BAD_INPUT,
    reason: 'yaml_syntax',
    cause: error,
  })
}

function secondDocumentLine(source: string): number | undefined {
  const lines = source.split(/\r?\n/)
  let seenContent = false
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    if (/^---(\s|$)/.test(line)) {
      if (seenContent) return i + 1
      seenContent = true
    } else if (line.trim() !== '' && !line.trimStart().startsWith('#') && !line.startsWith('%')) {
      seenContent = true
    }
  }
  return undefined
}

type Frame = {kind: 'map'; expectKey: boolean; keys: Map<string, number>} | {kind: 'seq' | 'doc'}

/** Walk the event stream for mappings that repeat a scalar key; PyYAML keeps the last value. */
function duplicateKeyWarnings(events: Event[], source: string, fileLabel: string): string[] {
  const warnings: string[] = []
  const stack: Frame[] = []
  const lineOf = (offset: number) => {
    let line = 1
    for (let i = 0; i < offset && i < source.length; i++) if (source.charCodeAt(i) === 10) line++
    return line
  }
  const nodeDone = () => {
    const top = stack.at(-1)
    if (top?.kind === 'map') top.expectKey = !top.expectKey
  }
  for (const ev of events) {
    switch (ev.type) {
      case EVENT_ID.DOCUMENT: {
        stack.push({kind: 'doc'})
        break
      }
      case EVENT_ID.MAPPING: {
        stack.push({kind: 'map', expectKey: true, keys: new Map()})
        break
      }
      case EVENT_ID.SEQUENCE: {
        stack.push({kind: 'seq'})
        break
      }
      case EVENT_ID.SCALAR: {
        const top = stack.at(-1)
        if (top?.kind === 'map' && top.expectKey) {
          const key = getScalarValue(source, ev)
          const line = lineOf(ev.valueStart)
          const first = top.keys.get(key)
          if (first !== undefined && key !== '<<') {
            warnings.push(`${fileLabel}:${line}: duplicate key '${key}' (first at line ${first}); the last value wins, as in the ingestor`)
          } else if (first === undefined) {
            top.keys.set(key, line)
          }
        }
        nodeDone()
        break
      }
      case EVENT_ID.ALIAS: {
        nodeDone()
        break
      }
      case EVENT_ID.POP: {
        stack.pop()
        nodeDone()
        break
      }
    }
  }
  return warnings
}
