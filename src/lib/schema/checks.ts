// Checks the schema cannot express but the ingestor enforces at run time (docs/protocol.md
// #ingestor-config-errors, #ingestor-paths, #ingestor-validators). Catching them here saves a round trip through staging and a failed Job. Each check only
// looks at values of the right type: a wrong type is already a schema error.
import path from 'node:path'

import {pyStr} from './pyrepr.js'
import {SQL_TYPES, sqlBaseType, sqlTypeProblem} from './sql-type.js'
import type {PathElement, RawIssue} from './validate.js'
import {isMapping} from './validate.js'
import {TABLE_NAME_MAX, TABLE_NAME_RE} from './table-name.js'

export {TABLE_NAME_MAX, TABLE_NAME_RE}
/** Column names the ingestor creates itself (`create_table` rejects them in `schema`). */
export const RESERVED_COLUMNS = ['id', 'created_at', 'updated_at', 'status', 'data_intent', 'data_id', 'filename', 'extension', 'annotation', 'ingestor_id']
export const COLUMN_NAME_MAX = 64
/** The shared PVC inside the ingestor pod. */
export const STORAGE_ROOT = '/data/shared'
/** Source keys that name files/folders inside the pod. */
export const SOURCE_KEYS = ['csv', 'json'] as const
/** Sidecar folders in the order the ingestor picks SRC_PATH from (`dirname` of the first one set). */
export const SIDECAR_KEYS = ['images', 'texts', 'masks', 'annotations', 'sequences'] as const

export {SQL_TYPES, sqlBaseType, sqlTypeProblem}

export function runtimeIssues(cfg: Record<string, unknown>): RawIssue[] {
  const out: RawIssue[] = []
  const add = (p: PathElement[], keyword: string, message: string) => out.push({path: p, keyword, message, order: [1e9, out.length]})

  const table = cfg.table
  if (typeof table === 'string' && table.length > 0) {
    if (!TABLE_NAME_RE.test(table)) {
      add(['table'], 'tableName', `${pyStr(table)} is not a valid table name: start with a letter, then only letters, digits and _ (no hyphens, spaces or dots)`)
    } else if (table.length > TABLE_NAME_MAX) {
      add(['table'], 'tableName', `table name is ${table.length} characters; the maximum is ${TABLE_NAME_MAX}`)
    }
  }

  const schema = cfg.schema
  if (isMapping(schema)) {
    for (const [col, type] of Object.entries(schema)) {
      if (RESERVED_COLUMNS.includes(col.toLowerCase())) {
        add(['schema', col], 'reservedColumn', `${pyStr(col)} is a column the ingestor creates itself (reserved: ${RESERVED_COLUMNS.join(', ')}); rename it`)
      }
      if ([...col].length > COLUMN_NAME_MAX) add(['schema', col], 'columnName', `column name is ${[...col].length} characters; the maximum is ${COLUMN_NAME_MAX}`)
      if (typeof type === 'string') {
        const problem = sqlTypeProblem(type)
        if (problem?.unknown) add(['schema', col], 'sqlType', `Unknown data type: ${pyStr(type)} (accepted: ${SQL_TYPES.join(', ')})`)
        else if (problem) add(['schema', col], 'sqlType', `${pyStr(type)} is not a valid SQL type: ${problem.why}`)
      }
    }
  }

  for (const key of [...SOURCE_KEYS, ...SIDECAR_KEYS]) {
    const v = cfg[key]
    if (typeof v !== 'string' || v.length === 0) continue
    const norm = path.posix.normalize(v)
    if (!path.posix.isAbsolute(v) || !norm.startsWith(STORAGE_ROOT + '/') || norm.length <= STORAGE_ROOT.length + 1) {
      add([key], 'inPodPath', `${pyStr(v)} must be an absolute path on the shared volume inside the ingestor pod, under ${STORAGE_ROOT}/ (e.g. ${STORAGE_ROOT}/<dataset>/${key === 'csv' ? 'labels.csv' : key === 'json' ? 'data.json' : key + '/'})`)
    }
  }

  // The ingestor reads SRC_PATH/<images|texts|…> whatever the YAML names the folder, with
  // SRC_PATH = dirname(first sidecar set). So each must be literally named after its key and all
  // must share one parent.
  let parent: {key: string; dir: string} | undefined
  for (const key of SIDECAR_KEYS) {
    const v = cfg[key]
    if (typeof v !== 'string' || v.length === 0) continue
    let end = v.length // the value without its trailing slashes (a scan: /\/+$/ is quadratic on a long run)
    while (end > 0 && v[end - 1] === '/') end--
    const trimmed = v.slice(0, end)
    const base = path.posix.basename(trimmed)
    const dir = path.posix.dirname(trimmed)
    if (base !== key) {
      add([key], 'sidecarLayout', `${pyStr(v)} must be a folder named '${key}/': the ingestor reads ${dir}/${key}/ whatever name is given here`)
    }
    if (!parent) parent = {key, dir}
    else if (dir !== parent.dir) {
      add([key], 'sidecarLayout', `${pyStr(v)} must sit in the same folder as ${parent.key} (${parent.dir}/): the ingestor reads every sidecar folder from there`)
    }
  }
  return out
}
