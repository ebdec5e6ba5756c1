// What the ingestor writes to MySQL (docs/protocol.md#dataset-tables, #bookkeeping-tables), against the sandbox's real MariaDB through
// the `mysql` client of the image's runtime: database training_test_datasets, one table per dataset with
// the real DDL (standard columns, then the schema's columns with the type map; tabular sorted), the run
// journal tracebloc_ingest_runs and the salt store tracebloc_ingest_meta, content-hash data_ids.
import {spawn} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'

export const DB_NAME = 'training_test_datasets'
export const RUNS_TABLE = 'tracebloc_ingest_runs'
export const META_TABLE = 'tracebloc_ingest_meta'

export interface DbConfig {
  socket: string
  user: string
  password: string
}

export const ident = (name: string) => '`' + name.replace(/`/g, '``') + '`'
export const qualified = (table: string) => `${ident(DB_NAME)}.${ident(table)}`

/** A MySQL string literal (default sql_mode: backslash escapes). */
export function lit(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return 'NULL'
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'NULL'
  // eslint-disable-next-line no-control-regex -- escaping control characters is the point
  const esc = v.replace(/[\\'\0\n\r\x1a]/g, (c) => ({'\\': '\\\\', "'": "\\'", '\0': '\\0', '\n': '\\n', '\r': '\\r', '\x1a': '\\Z'})[c]!)
  return `'${esc}'`
}

/** Runs SQL on stdin; resolves with the `-N -B` rows, rejects with mysql's `ERROR nnnn …` text. */
export function runSql(cfg: DbConfig, sql: string): Promise<string[][]> {
  return new Promise((resolve, reject) => {
    const p = spawn('mysql', ['--no-defaults', '-S', cfg.socket, '-u', cfg.user, '-N', '-B', '--default-character-set=utf8mb4'], {
      env: {PATH: process.env.PATH ?? '/usr/bin:/bin', MYSQL_PWD: cfg.password},
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    p.stdout.on('data', (d) => (out += d))
    p.stderr.on('data', (d) => (err += d))
    p.on('error', reject)
    p.on('close', (code) => {
      if (code !== 0) return reject(new Error(err.trim() || `mysql exited ${code}`))
      resolve(out.split('\n').filter((l) => l !== '').map((l) => l.split('\t')))
    })
    p.stdin.on('error', () => {})
    p.stdin.end(sql)
  })
}

const STANDARD_COLUMNS = [
  '`id` BIGINT NOT NULL AUTO_INCREMENT',
  '`created_at` DATETIME DEFAULT CURRENT_TIMESTAMP',
  '`updated_at` DATETIME DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP',
  '`status` INT DEFAULT 0',
  '`label` VARCHAR(255) NULL',
  '`data_intent` VARCHAR(100) NULL',
  '`data_id` VARCHAR(255) NOT NULL',
  '`filename` VARCHAR(255) NULL',
  '`extension` VARCHAR(10) NULL',
  '`annotation` TEXT NULL',
  '`ingestor_id` VARCHAR(255) NULL',
]
export const STANDARD_NAMES = ['id', 'created_at', 'updated_at', 'status', 'label', 'data_intent', 'data_id', 'filename', 'extension', 'annotation', 'ingestor_id']

/** The ingestor's type map: base type matched case-insensitively, arguments kept. */
export function mysqlType(t: string): string {
  const m = /^\s*([A-Za-z]+)\s*(\(.*\))?\s*$/.exec(t)
  if (!m) throw new Error(`Unsupported MySQL type: ${t}`)
  const base = m[1].toUpperCase()
  const args = m[2] ?? ''
  if (['INT', 'INTEGER', 'TINYINT', 'SMALLINT', 'MEDIUMINT'].includes(base)) return 'INTEGER'
  if (base === 'BOOL' || base === 'BOOLEAN') return 'TINYINT(1)'
  if (base === 'DATETIME' || base === 'TIMESTAMP') return 'DATETIME'
  if (base === 'DECIMAL' || base === 'NUMERIC') return `DECIMAL${args}`
  if (['VARCHAR', 'CHAR', 'TEXT', 'BIGINT', 'FLOAT', 'DOUBLE', 'DATE', 'TIME', 'BLOB', 'LONGBLOB'].includes(base)) return `${base}${args}`
  throw new Error(`Unsupported MySQL type: ${t}`)
}

export interface FeatureColumn {
  name: string
  type: string
}

export function createTableSql(table: string, features: FeatureColumn[], ifNotExists: boolean): string {
  const cols = [...STANDARD_COLUMNS, ...features.map((f) => `${ident(f.name)} ${mysqlType(f.type)} NULL`), 'PRIMARY KEY (`id`)', `UNIQUE KEY ${ident(`uq_${table}_data_id`.slice(0, 64))} (\`data_id\`)`]
  return `CREATE TABLE ${ifNotExists ? 'IF NOT EXISTS ' : ''}${qualified(table)} (\n  ${cols.join(',\n  ')}\n);\n`
}

export function bookkeepingSql(): string {
  return [
    `CREATE DATABASE IF NOT EXISTS ${ident(DB_NAME)};`,
    `CREATE TABLE IF NOT EXISTS ${qualified(RUNS_TABLE)} (ingestor_id VARCHAR(64) NOT NULL PRIMARY KEY, table_name VARCHAR(64) NOT NULL, registered TINYINT(1) NOT NULL DEFAULT 0, task VARCHAR(64) NULL, started_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, registered_at TIMESTAMP NULL DEFAULT NULL, KEY ix_tracebloc_ingest_runs_table (table_name));`,
    `CREATE TABLE IF NOT EXISTS ${qualified(META_TABLE)} (table_name VARCHAR(64) NOT NULL PRIMARY KEY, salt CHAR(64) NOT NULL, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP);`,
  ].join('\n') + '\n'
}

/** The table's salt (first writer wins), for content-hash data_ids. */
export async function saltFor(cfg: DbConfig, table: string): Promise<string> {
  const rows = await runSql(cfg, `INSERT IGNORE INTO ${qualified(META_TABLE)} (table_name, salt) VALUES (${lit(table)}, ${lit(randomBytes(32).toString('hex'))});\nSELECT salt FROM ${qualified(META_TABLE)} WHERE table_name = ${lit(table)};\n`)
  return rows[0][0]
}

export async function tableColumns(cfg: DbConfig, table: string): Promise<string[] | undefined> {
  const rows = await runSql(cfg, `SELECT column_name FROM information_schema.columns WHERE table_schema = ${lit(DB_NAME)} AND table_name = ${lit(table)} ORDER BY ordinal_position;\n`)
  return rows.length ? rows.map((r) => r[0]) : undefined
}

export const contentDataId = (salt: string, values: unknown[]) => createHash('sha256').update(salt).update(JSON.stringify(values)).digest('hex')

export interface Row {
  label: string | number | null
  dataIntent: string
  dataId: string
  filename: string | null
  extension: string | null
  annotation: string | null
  features: Record<string, string | undefined>
}

/** The run's writes after validation: reclaim dead runs' rows, journal start, upserted batches, registered. */
export function ingestSql(table: string, ingestorId: string, task: string, features: FeatureColumn[], rows: Row[]): string {
  const t = qualified(table)
  const runs = qualified(RUNS_TABLE)
  const out = [
    `DELETE FROM ${t} WHERE ingestor_id IN (SELECT ingestor_id FROM ${runs} WHERE table_name = ${lit(table)} AND registered = 0 AND ingestor_id <> ${lit(ingestorId)});`,
    `INSERT IGNORE INTO ${runs} (ingestor_id, table_name, task) VALUES (${lit(ingestorId)}, ${lit(table)}, ${lit(task)});`,
  ]
  const cols = ['label', 'data_intent', 'data_id', 'filename', 'extension', 'annotation', 'ingestor_id', ...features.map((f) => f.name)]
  const numeric = (type: string) => /^(INTEGER|BIGINT|FLOAT|DOUBLE|DECIMAL|TINYINT)/.test(mysqlType(type))
  for (let i = 0; i < rows.length; i += 500) {
    const values = rows.slice(i, i + 500).map((r) => {
      const feats = features.map((f) => {
        const v = r.features[f.name]
        return v === undefined || (v === '' && numeric(f.type)) ? 'NULL' : lit(v)
      })
      return `(${[lit(r.label === null ? null : String(r.label)), lit(r.dataIntent), lit(r.dataId), lit(r.filename), lit(r.extension), lit(r.annotation), lit(ingestorId), ...feats].join(', ')})`
    })
    out.push(`INSERT INTO ${t} (${cols.map(ident).join(', ')}) VALUES\n${values.join(',\n')}\nON DUPLICATE KEY UPDATE label = VALUES(label), data_intent = VALUES(data_intent), ingestor_id = VALUES(ingestor_id);`)
  }
  out.push(`UPDATE ${runs} SET registered = 1, registered_at = CURRENT_TIMESTAMP WHERE ingestor_id = ${lit(ingestorId)};`)
  return out.join('\n') + '\n'
}
