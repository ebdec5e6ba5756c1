// Emulation of the tracebloc ingestor image (di 0.3.9, docs/protocol.md#ingestor): the entrypoint's MySQL wait,
// run.py's config checks (the exact texts of #ingestor-config-errors, exit 2), the filesystem rules of #ingestor-paths (SRC_PATH from the
// sidecar dir's parent, DEST /data/shared/<table>, table lock), per-category validators (#ingestor-validators),
// the flat copy into DEST, and the exact #summary-banner with ANSI codes, exiting as #ingestor-exit-codes says.
// In a pod the rows go to the release's real MariaDB as the 0.8-line ingestor writes them (db.ts,
// docs/protocol.md#dataset-tables, #bookkeeping-tables, #run-leftovers), PER_INGESTION_TABLES included; run outside a pod without a database (the
// emulation's own tests) they are "inserted" into a JSONL file beside the data. There is no backend.
import {createHash, randomUUID} from 'node:crypto'
import * as fs from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import * as yaml from 'js-yaml'
import {formatPyErrors, validatePy} from '../pyjsonschema.js'
import * as V from './validators.js'
import {bookkeepingSql, contentDataId, createTableSql, type DbConfig, type FeatureColumn, ingestSql, type Row, runSql, saltFor, STANDARD_NAMES, tableColumns} from './db.js'

export type IngestorFault = 'config-error' | 'validator-failure' | 'skipped-rows' | 'file-transfer-failure' | 'crash' | 'mysql-unreachable' | 'slow'

export interface IngestorIO {
  env: Record<string, string | undefined>
  stdout(s: string): void
  stderr(s: string): void
  /** Prefix prepended to in-pod absolute paths (tests run the emulation outside a pod). Default ''. */
  fsRoot?: string
  fault?: IngestorFault
  /** Pause between progress lines: the `slow` fault (default 250 ms) or the `ingestorSlowMs` setting alone. */
  slowMs?: number
  /** The release's MySQL (in a pod); without it rows go to a JSONL file. */
  db?: DbConfig
}

const STORAGE_PATH = '/data/shared'
const SCHEMA_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'schemas')

/** The schema copy a sandbox component validates with (fault `serverSchema`; the ingestor gets it as env). */
export function schemaFile(which: 'current' | 'upstream-newer' | undefined): string {
  return path.join(SCHEMA_DIR, `ingest.v1.${which === 'upstream-newer' ? 'upstream-newer' : 'current'}.json`)
}

const A = {reset: '\x1b[0m', bold: '\x1b[1m', green: '\x1b[92m', red: '\x1b[91m', yellow: '\x1b[93m', blue: '\x1b[94m', cyan: '\x1b[96m'}

const IMAGE_CATS = ['image_classification', 'object_detection', 'keypoint_detection', 'semantic_segmentation', 'instance_segmentation']
const TEXT_CATS = ['text_classification', 'token_classification', 'masked_language_modeling']
const SIDECARS = ['images', 'texts', 'masks', 'annotations', 'sequences'] as const

const DEFAULT_FILE_OPTIONS: Record<string, {target_size?: [number, number]; extension?: string}> = {
  image_classification: {target_size: [256, 256], extension: '.jpeg'},
  object_detection: {target_size: [1920, 1080], extension: '.jpg'},
  keypoint_detection: {extension: '.jpg'},
  semantic_segmentation: {target_size: [512, 512], extension: '.jpg'},
  instance_segmentation: {target_size: [512, 512], extension: '.jpg'},
  text_classification: {extension: '.txt'},
  token_classification: {extension: '.txt'},
  masked_language_modeling: {extension: '.txt'},
}

const DATA_TYPE = /^(VARCHAR\(\d+\)|CHAR\(\d+\)|TEXT|INT|INTEGER|BIGINT|FLOAT|DOUBLE|DECIMAL(\(\d+(,\s*\d+)?\))?|NUMERIC(\(\d+(,\s*\d+)?\))?|BOOL|BOOLEAN|DATE|DATETIME|TIMESTAMP|TIME)$/i

class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`)
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function stamp(): string {
  const d = new Date()
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
}

/** Python logging line in the ingestor's format (docs/protocol.md#ingestor-logging). */
function logLine(level: 'WARNING' | 'ERROR' | 'INFO', logger: string, file: string, msg: string): string {
  return `${stamp()} | ${level.padEnd(8)} | tracebloc_ingestor.${logger} | ${file} | ${msg}\n`
}

/** Minimal RFC 4180 CSV reader (quotes, CRLF), enough for the samples and the CLI's staged CSVs. */
export function parseCsv(text: string, delimiter = ',', quote = '"'): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let field = ''
  let inQ = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (inQ) {
      if (c === quote) {
        if (text[i + 1] === quote) {
          field += quote
          i++
        } else inQ = false
      } else field += c
    } else if (c === quote && field === '') inQ = true
    else if (c === delimiter) {
      row.push(field)
      field = ''
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++
      row.push(field)
      rows.push(row)
      row = []
      field = ''
    } else field += c
  }
  if (field !== '' || row.length > 0) {
    row.push(field)
    rows.push(row)
  }
  return rows.filter((r) => !(r.length === 1 && r[0] === ''))
}

/** Width×height from PNG IHDR or JPEG SOFn, like PIL's Image.size. */
export function imageSize(buf: Buffer): [number, number] | undefined {
  if (buf.length > 24 && buf.readUInt32BE(0) === 0x89504e47) return [buf.readUInt32BE(16), buf.readUInt32BE(20)]
  if (buf[0] === 0xff && buf[1] === 0xd8) {
    let i = 2
    while (i + 9 < buf.length) {
      if (buf[i] !== 0xff) return undefined
      const marker = buf[i + 1]
      const len = buf.readUInt16BE(i + 2)
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return [buf.readUInt16BE(i + 7), buf.readUInt16BE(i + 5)]
      }
      i += 2 + len
    }
  }
  return undefined
}

function walkFiles(dir: string): string[] {
  const out: string[] = []
  for (const e of fs.readdirSync(dir, {withFileTypes: true}).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (e.name.startsWith('.')) continue
    const p = path.join(dir, e.name)
    if (e.isDirectory()) out.push(...walkFiles(p))
    else out.push(p)
  }
  return out
}

interface Banner {
  ingestorId: string
  /** The physical table when it differs from the label (per-ingestion tables). */
  destinationTable?: string
  total: number
  processed: number
  inserted: number
  apiSent: number
  skipped: number
  fileTransferFailures: number
  failedDb: number
}

/** The exact `BaseIngestor._log_summary` banner (docs/protocol.md#summary-banner), ANSI colours included. */
export function renderBanner(b: Banner): string {
  const n = (x: number) => x.toLocaleString('en-US')
  const apiOnly = Math.max(0, b.inserted - b.apiSent)
  const heavy = '═'.repeat(60)
  const light = '─'.repeat(60)
  const lines = [
    '',
    `${A.cyan}${heavy}${A.reset}`,
    `${A.bold}${A.cyan}📊 INGESTION SUMMARY 📊${A.reset}`,
    `${A.cyan}${heavy}${A.reset}`,
    `${A.bold}Ingestor ID:${A.reset}                ${b.ingestorId}`,
    ...(b.destinationTable ? [`${A.bold}Destination table:${A.reset}          ${b.destinationTable}`] : []),
    `${A.blue}📈 Total Records Found:${A.reset}     ${A.bold}${n(b.total)}${A.reset}`,
    `${A.green}✅ Successfully Processed:${A.reset}  ${A.bold}${n(b.processed)}${A.reset}`,
    `${A.green}💾 Inserted to Database:${A.reset}    ${A.bold}${n(b.inserted)}${A.reset}`,
    `${A.green}🚀 Sent to API:${A.reset}             ${A.bold}${n(b.apiSent)}${A.reset}`,
    `${A.yellow}⏭️  Skipped Records:${A.reset}        ${A.bold}${n(b.skipped)}${A.reset}`,
    `${A.red}📁 File Transfer Failures:${A.reset}  ${A.bold}${n(b.fileTransferFailures)}${A.reset}`,
    `${A.red}❌ Failed DB Insertion:${A.reset}     ${A.bold}${n(b.failedDb)}${A.reset}`,
    `${A.red}❌ Failed to Send to API:${A.reset}   ${A.bold}${n(apiOnly)}${A.reset}`,
    `${A.cyan}${light}${A.reset}`,
  ]
  const rate = b.total > 0 ? (b.inserted / b.total) * 100 : 0
  if (b.total > 0) {
    const filled = Math.round((rate / 100) * 30)
    const colour = rate >= 80 ? A.green : rate >= 60 ? A.yellow : A.red
    lines.push(`${A.bold}📊 Success Rate: ${colour}[${'█'.repeat(filled)}${'░'.repeat(30 - filled)}] ${rate.toFixed(1)}%${A.reset}`)
  }
  lines.push(`${A.cyan}${light}${A.reset}`)
  const hasFailures = b.failedDb > 0 || b.fileTransferFailures > 0 || b.inserted < b.total || b.apiSent < b.inserted
  const f = b.failedDb + b.fileTransferFailures + apiOnly
  if (!hasFailures) lines.push(`${A.bold}${A.green}🎉 Ingestion completed successfully!${A.reset}`)
  else if (rate >= 80) lines.push(`${A.bold}${A.yellow}⚠️  Ingestion completed with ${f} failure(s), see logs.${A.reset}`)
  else if (rate >= 60) lines.push(`${A.bold}${A.yellow}⚠️  Ingestion completed with ${f} failure(s); many records failed to process — see logs.${A.reset}`)
  else lines.push(`${A.bold}${A.red}❌ Critical! Ingestion completed with ${f} failure(s); most records failed — see logs.${A.reset}`)
  lines.push(`${A.cyan}${heavy}${A.reset}`, '')
  return lines.join('\n') + '\n'
}

const TRACEBACK_HEAD = [
  'Traceback (most recent call last):',
  '  File "/usr/local/bin/tracebloc-ingest", line 8, in <module>',
  '    sys.exit(main())',
  '             ^^^^^^',
]

/** Runs the image's entrypoint + `tracebloc-ingest`; resolves to the process exit code. */
export async function runIngestor(io: IngestorIO): Promise<number> {
  try {
    await entrypoint(io)
    return await main(io)
  } catch (e) {
    if (e instanceof Exit) return e.code
    throw e
  }
}

async function entrypoint(io: IngestorIO): Promise<void> {
  const host = io.env.MYSQL_HOST
  if (!host) {
    io.stderr('ERROR: MYSQL_HOST must be set (the tracebloc client provides this)\n')
    throw new Exit(64)
  }
  const wait = io.env.MYSQL_WAIT_SECONDS || '120'
  io.stdout(`Waiting up to ${wait}s for MySQL at ${host}:3306...\n`)
  if (io.db && io.fault !== 'mysql-unreachable') {
    const deadline = Date.now() + (Number(wait) || 0) * 1000
    for (;;) {
      try {
        await runSql(io.db, 'SELECT 1;\n')
        break
      } catch {
        if (Date.now() >= deadline) {
          io.stderr(`ERROR: MySQL not reachable at ${host}:3306 after ${wait}s\n`)
          throw new Exit(65)
        }
        await sleep(500)
      }
    }
  }
  if (io.fault === 'mysql-unreachable') {
    await sleep(Math.min(Number(wait) || 0, 1) * 1000)
    io.stderr(`ERROR: MySQL not reachable at ${host}:3306 after ${wait}s\n`)
    throw new Exit(65)
  }
  io.stdout('MySQL is ready.\n')
}

function fail(io: IngestorIO, msg: string): never {
  io.stderr(msg + '\n')
  throw new Exit(2)
}

async function main(io: IngestorIO): Promise<number> {
  const root = io.fsRoot ?? ''
  const hostPath = (p: string) => root + p
  const cfgPath = io.env.INGEST_CONFIG
  if (!cfgPath) fail(io, 'INGEST_CONFIG env var not set. The official image expects the Helm subchart (client#86) to mount the ingest.yaml and set INGEST_CONFIG to its path.')
  if (!fs.statSync(hostPath(cfgPath), {throwIfNoEntry: false})?.isFile()) fail(io, `INGEST_CONFIG points to ${cfgPath} which does not exist.`)
  let cfg: unknown
  try {
    cfg = yaml.load(fs.readFileSync(hostPath(cfgPath), 'utf8'), {schema: yaml.YAML11_SCHEMA})
  } catch (e) {
    fail(io, `ingest.yaml is not valid YAML:\n  ${(e as Error).message.split('\n')[0]}`)
  }
  if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) {
    fail(io, 'ingest.yaml must be a mapping at the top level (apiVersion / kind / category / ...).')
  }
  const schema = JSON.parse(fs.readFileSync(schemaFile(io.env.SANDBOX_SCHEMA === 'upstream-newer' ? 'upstream-newer' : 'current'), 'utf8'))
  // config-error fault: the ingestor's schema rejects a key the caller's schema accepted (version skew).
  const errors = validatePy(schema, io.fault === 'config-error' ? {...(cfg as object), sandbox_skew: true} : cfg)
  if (errors.length > 0) fail(io, `ingest.yaml validation failed:\n${formatPyErrors(errors)}`)
  const c = cfg as Record<string, any>

  // conventions.resolve()
  const category: string = c.category
  const table: string = c.table
  const fileOptions = {...DEFAULT_FILE_OPTIONS[category], ...(c.target_size ? {target_size: c.target_size} : {}), ...(c.spec?.file_options ?? {})}
  const labelColumn: string | undefined = typeof c.label === 'string' ? c.label : c.label?.column
  const labelPolicy: string = typeof c.label === 'object' && c.label ? c.label.policy ?? 'passthrough' : 'passthrough'
  const csvOptions = {delimiter: ',', quotechar: '"', ...(c.spec?.csv_options ?? {})}
  const firstSidecar = SIDECARS.map((k) => c[k] as string | undefined).find((v) => v !== undefined)
  const srcPath = firstSidecar === undefined ? '' : path.posix.dirname(firstSidecar.replace(/\/+$/, ''))
  for (const k of ['processors', 'validators', 'sidecars'] as const) {
    if (Array.isArray(c.spec?.[k]) && c.spec[k].length > 0) {
      io.stdout(logLine('WARNING', 'cli.run', 'run.py:142', `spec.${k} is accepted by the schema but ignored by this ingestor version.`))
    }
  }

  // Config.validate(): backend credentials (uncaught → traceback, exit 1)
  if (io.env.CLIENT_ENV !== 'local' && !io.env.BACKEND_TOKEN && !(io.env.CLIENT_ID && io.env.CLIENT_PASSWORD)) {
    io.stderr([...TRACEBACK_HEAD,
      '  File "/usr/local/lib/python3.11/site-packages/tracebloc_ingestor/cli/run.py", line 181, in main',
      '    config = Config()',
      '  File "/usr/local/lib/python3.11/site-packages/tracebloc_ingestor/config.py", line 96, in validate',
      '    raise ValueError(',
      'ValueError: Missing required environment variables: BACKEND_TOKEN (preferred) or CLIENT_ID + CLIENT_PASSWORD (deprecated fallback). Set CLIENT_ENV=local to bypass for development.',
    ].join('\n') + '\n')
    return 1
  }
  if (io.fault === 'crash') {
    io.stderr([...TRACEBACK_HEAD,
      '  File "/usr/local/lib/python3.11/site-packages/tracebloc_ingestor/cli/run.py", line 187, in main',
      '    database = Database(config)',
      '               ^^^^^^^^^^^^^^^^',
      '  File "/usr/local/lib/python3.11/site-packages/tracebloc_ingestor/database.py", line 41, in __init__',
      '    self.connection = pymysql.connect(**params)',
      `pymysql.err.OperationalError: (2003, "Can't connect to MySQL server on '${io.env.MYSQL_HOST}' ([Errno 111] Connection refused)")`,
    ].join('\n') + '\n')
    return 1
  }

  const lockPath = `${STORAGE_PATH}/.tracebloc-ingest-${table}.lock`
  let lockFd: number | undefined
  const ingestorId = randomUUID()
  // PER_INGESTION_TABLES: one immutable ds_<hex> table (and files dir) per run; staging and lock keep the label
  const perIngestion = /^(1|true|yes|on)$/i.test(io.env.PER_INGESTION_TABLES ?? '')
  const physical = perIngestion ? `ds_${ingestorId.replace(/-/g, '')}` : table
  const features = featureColumns(c, labelColumn, category)
  try {
    // SRC_PATH preflight (image, text, MLM categories)
    if (IMAGE_CATS.includes(category) || TEXT_CATS.includes(category)) {
      if (!srcPath) throw new Error('SRC_PATH is empty; set one of images/texts/sequences in ingest.yaml.')
      if (!srcPath.startsWith('/')) throw new Error(`SRC_PATH '${srcPath}' is not an absolute path.`)
      if (!fs.statSync(hostPath(srcPath), {throwIfNoEntry: false})?.isDirectory()) {
        throw new Error(`SRC_PATH '${srcPath}' does not exist or is not a directory inside the ingestor pod.`)
      }
    }
    const csvFile: string | undefined = c.csv
    if (!csvFile) throw new Error('JSON sources are not supported by the sandbox ingestor emulation.')
    if (!fs.existsSync(hostPath(csvFile))) throw new Error(`[Errno 2] No such file or directory: '${csvFile}'`)
    const csvBytes = fs.readFileSync(hostPath(csvFile))
    const bad = firstNonUtf8(csvBytes)
    if (bad >= 0) throw new Error(`'${path.posix.basename(csvFile)}' is not valid UTF-8 — a non-UTF-8 byte was found at byte ${bad}. Re-save the file as UTF-8.`)

    try {
      lockFd = fs.openSync(hostPath(lockPath), fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, 0o644)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
      const holder = fs.readFileSync(hostPath(lockPath), 'utf8').trim()
      throw new Error(`Another ingest is already running for table '${table}' (lock at ${lockPath}). Holder: ${holder}. Wait for it to finish, or remove the lock file if that ingest is gone.`, {cause: e})
    }
    fs.writeSync(lockFd, JSON.stringify({ingestor_id: ingestorId, table_name: table, pid: process.pid, hostname: io.env.HOSTNAME ?? 'ingestor', started_at: new Date().toISOString()}))
    // Legacy tables are created before validation (0.3.9's constructor): a rejected run leaves an empty table.
    // An existing table with other feature columns is stale: the ingestor refuses to append to it.
    if (io.db && !perIngestion) {
      await runSql(io.db, bookkeepingSql())
      const have = await tableColumns(io.db, table)
      const want = [...STANDARD_NAMES, ...features.map((f) => f.name)]
      if (have && have.join(',') !== want.join(',')) {
        throw new Error(`Table '${table}' already exists with different columns (${have.filter((x) => !STANDARD_NAMES.includes(x)).join(', ') || 'none'}); it is stale — drop it or use a new table name.`)
      }
      if (!have) await runSql(io.db, createTableSql(table, features, true))
    }

    const rows = parseCsv(csvBytes.toString('utf8'), csvOptions.delimiter, csvOptions.quotechar)
    const header = rows.shift() ?? []
    if (new Set(header).size !== header.length) throw new Error(`Duplicate column names found in CSV header: ${header.join(', ')}`)
    const ragged = rows.findIndex((r) => r.length !== header.length)
    if (ragged >= 0) throw new Error(`Error tokenizing data. C error: Expected ${header.length} fields in line ${ragged + 2}, saw ${rows[ragged].length}`)
    const records = rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])))

    const dest = `${STORAGE_PATH}/${physical}`
    const ext = String(fileOptions.extension ?? '')
    const sidecarDir = IMAGE_CATS.includes(category) ? 'images' : category === 'masked_language_modeling' ? 'sequences' : TEXT_CATS.includes(category) ? 'texts' : undefined

    // Validators (docs/protocol.md#ingestor-validators): all run, failures are collected.
    const results: {name: string; errors: string[]}[] = []
    const run = (name: string, check: () => string[]) => {
      const errs = check()
      results.push({name, errors: errs})
      if (errs.length === 0) io.stdout(`${name} Validator successfully passed\n`)
    }
    const dir = hostPath(`${srcPath}/${sidecarDir}`)
    const fileType = (sub: string, want: string) =>
      run('File Type Validator', () => {
        const d = hostPath(`${srcPath}/${sub}`)
        if (!fs.existsSync(d)) return [`Directory not found: ${srcPath}/${sub}`]
        const wrong = walkFiles(d).filter((f) => path.extname(f).toLowerCase() !== want.toLowerCase())
        return wrong.map((f) => `Invalid file type: ${path.basename(f)} (expected ${want})`)
      })
    const resolution = () => {
      if (!fileOptions.target_size) return
      const [w, h] = fileOptions.target_size
      run('Image Resolution Validator', () => {
        if (io.fault === 'validator-failure') return [`Image cat1.jpeg has resolution 255x256, expected ${w}x${h}`]
        if (!fs.existsSync(dir)) return []
        const errs: string[] = []
        for (const f of walkFiles(dir)) {
          const size = imageSize(fs.readFileSync(f))
          if (!size) errs.push(`Cannot read image: ${path.basename(f)}`)
          else if (size[0] !== w || size[1] !== h) errs.push(`Image ${path.basename(f)} has resolution ${size[0]}x${size[1]}, expected ${w}x${h}`)
        }
        return errs
      })
    }
    const tokenizer = () => {
      const required = category === 'masked_language_modeling'
      if (!required && !fs.existsSync(hostPath(`${srcPath}/tokenizer.json`))) return // optional, and absent
      run('Tokenizer Validator', () => V.tokenizerErrors(hostPath(`${srcPath}/tokenizer.json`), `${srcPath}/tokenizer.json`, required, category))
    }
    const data = (schema: Record<string, string> | undefined) => {
      if (schema && typeof schema === 'object') run('Data Validator', () => dataErrors(schema, header, records))
    }
    const schema = c.schema as Record<string, string> | undefined
    switch (category) {
      case 'image_classification':
        fileType('images', ext)
        resolution()
        break
      case 'object_detection':
        fileType('images', ext)
        fileType('annotations', '.xml')
        run('Pascal VOC XML Validator', () => V.pascalVocErrors(hostPath(`${srcPath}/annotations`)))
        run('File Pairing Validator', () => V.annotationPairingErrors(dir, hostPath(`${srcPath}/annotations`)))
        resolution()
        break
      case 'keypoint_detection':
        fileType('images', ext)
        resolution()
        run('Keypoint Annotation', () => V.keypointAnnotationErrors(records, c.number_of_keypoints))
        run('Keypoint Visibility', () => V.keypointVisibilityErrors(records))
        break
      case 'semantic_segmentation':
        fileType('images', ext)
        fileType('masks', '.png')
        run('File Pairing Validator', () => V.maskPairingErrors(dir, hostPath(`${srcPath}/masks`)))
        resolution()
        break
      case 'text_classification':
        fileType('texts', ext)
        tokenizer()
        data(schema)
        break
      case 'token_classification':
        fileType('texts', ext)
        run('BIO Label', () => V.bioErrors(records, header, labelColumn ?? 'label', dir, ext))
        tokenizer()
        data(schema)
        break
      case 'masked_language_modeling':
        fileType('sequences', ext)
        tokenizer()
        data(schema)
        break
      case 'time_series_forecasting':
        run('Time Format Validator', () => V.timeFormatErrors(schema))
        run('Time Ordered Validator', () => V.timeOrderedErrors(header, records))
        run('Time Before Today Validator', () => V.timeBeforeTodayErrors(header, records))
        run('Numeric Columns Validator', () => V.numericColumnsErrors(schema, header, records))
        data(schema ? Object.fromEntries(Object.entries(schema).filter(([k]) => k !== 'timestamp')) : undefined)
        break
      case 'time_to_event_prediction':
        run('Time to Event Validator', () => V.timeToEventErrors(typeof c.time_column === 'string' ? c.time_column : 'time', header, records))
        data(schema)
        break
      case 'instance_segmentation':
        // map_validators returns [] for it: not even TableName / Duplicate
        break
      default:
        data(schema)
    }
    if (category !== 'instance_segmentation') run('Table Name Validator', () => (/^[a-zA-Z][a-zA-Z0-9_]*$/.test(table) ? [] : [`Invalid table name '${table}': must start with a letter and contain only letters, digits and underscores`]))
    if (category !== 'instance_segmentation') run('Duplicate Validator', () => {
      const st = fs.statSync(hostPath(dest), {throwIfNoEntry: false})
      if (st?.isDirectory() && fs.readdirSync(hostPath(dest)).length > 0) return [`Destination directory '${dest}' already exists`]
      return []
    })
    const failed = results.filter((r) => r.errors.length > 0)
    if (failed.length > 0) {
      throw new Error(failed.map((r) => `${r.name} Validator failed: \n${r.errors.join('\n')}`).join('\n'))
    }
    io.stdout(`${A.green}All validations passed successfully${A.reset}\n`)
    if (io.db && perIngestion) {
      await runSql(io.db, bookkeepingSql())
      await runSql(io.db, createTableSql(physical, features, false))
    }

    const needCols = [...(sidecarDir ? ['filename'] : []), ...(labelColumn ? [labelColumn] : [])]
    const missingCols = needCols.filter((k) => !header.includes(k))
    if (missingCols.length) throw new Error(`Required column(s) missing from CSV: ${missingCols.join(', ')}`)

    // Records: copy files flat into DEST, "insert" rows, "send" to the API.
    if (sidecarDir) fs.mkdirSync(hostPath(dest), {recursive: true})
    const dbRows: Array<Row & {values: unknown[]}> = []
    const b: Banner = {ingestorId, destinationTable: physical === table ? undefined : physical, total: records.length, processed: 0, inserted: 0, apiSent: 0, skipped: 0, fileTransferFailures: 0, failedDb: 0}
    const db: string[] = []
    const copied = new Set<string>()
    const progressEvery = Math.max(1, Math.ceil(records.length / 12))
    const started = Date.now()
    for (let i = 0; i < records.length; i++) {
      const r = records[i]
      if (i % progressEvery === 0) {
        io.stderr(`\rIngesting records: ${String(Math.floor((i / records.length) * 100)).padStart(3)}%|${'█'.repeat(Math.floor((i / records.length) * 10)).padEnd(10)}| ${i}/${records.length} [${elapsed(started)}]`)
        if (io.fault === 'slow' || io.slowMs) await sleep(io.slowMs ?? 250)
      }
      if (io.fault === 'skipped-rows' && i % 6 === 5) {
        b.skipped++
        continue
      }
      if (sidecarDir) {
        const base = path.posix.extname(r.filename) ? r.filename : `${r.filename}${ext}`
        const src = `${srcPath}/${sidecarDir}/${base}`
        const noun = sidecarDir === 'images' ? 'image' : 'text'
        if ((io.fault === 'file-transfer-failure' && i % 6 === 5) || (!copied.has(base) && !fs.existsSync(hostPath(src)))) {
          b.fileTransferFailures++
          io.stdout(logLine('ERROR', 'file_transfer', 'file_transfer.py:88', `Source ${noun} not found: ${src}`))
          io.stdout(logLine('WARNING', 'ingestors.base', 'base.py:412', `Skipping record due to file transfer failure: ${r.filename}`))
          continue
        }
        // rows may name the same file again; the bytes are the same, so copy each file once
        if (!copied.has(base)) {
          fs.rmSync(hostPath(`${dest}/${base}`), {force: true}) // staged files are often read-only
          fs.copyFileSync(hostPath(src), hostPath(`${dest}/${base}`))
          copied.add(base)
          // the paired sidecar travels with its image (docs/protocol.md#ingestor-paths: annotation .xml, mask <mask_id>.png)
          const pair = category === 'object_detection' ? `annotations/${path.posix.basename(base, path.posix.extname(base))}.xml`
            : category === 'semantic_segmentation' && r.mask_id ? `masks/${path.posix.extname(r.mask_id) ? r.mask_id : `${r.mask_id}.png`}` : undefined
          if (pair && fs.existsSync(hostPath(`${srcPath}/${pair}`))) {
            const to = hostPath(`${dest}/${path.posix.basename(pair)}`)
            fs.rmSync(to, {force: true})
            fs.copyFileSync(hostPath(`${srcPath}/${pair}`), to)
          }
        }
      }
      b.processed++
      const label = labelColumn === undefined ? null : labelPolicy === 'bucket' ? bucket(r[labelColumn]) : r[labelColumn]
      db.push(JSON.stringify({...r, label, data_intent: c.intent, data_id: randomUUID(), ingestor_id: ingestorId}))
      const file = sidecarDir ? (path.posix.extname(r.filename) ? r.filename : `${r.filename}${ext}`) : undefined
      dbRows.push({
        label: label ?? null,
        dataIntent: c.intent ?? 'train',
        dataId: '',
        filename: file ? path.posix.basename(file, path.posix.extname(file)) : null,
        extension: file ? path.posix.extname(file) : null,
        annotation: null,
        features: Object.fromEntries(features.map((f) => [f.name, r[f.name]])),
        values: [r, label, c.intent],
      })
      b.inserted++
      b.apiSent++
    }
    io.stderr(`\rIngesting records: 100%|██████████| ${records.length}/${records.length} [${elapsed(started)}]\n`)
    if (sidecarDir) {
      const tok = hostPath(`${srcPath}/tokenizer.json`)
      if (TEXT_CATS.includes(category) && fs.existsSync(tok)) {
        fs.rmSync(hostPath(`${dest}/tokenizer.json`), {force: true})
        fs.copyFileSync(tok, hostPath(`${dest}/tokenizer.json`))
      }
    }
    if (io.db) {
      // salt (first writer wins) → content-hash data_ids: a re-ingest of the same rows upserts, never duplicates
      const salt = await saltFor(io.db, physical)
      for (const r of dbRows) r.dataId = contentDataId(salt, r.values)
      await runSql(io.db, ingestSql(physical, ingestorId, category, features, dbRows))
    } else {
      // No database outside a pod: one JSONL file per table, so the emulation's tests can see inserted rows.
      const dbDir = hostPath(`${STORAGE_PATH}/.sandbox-mysql`)
      fs.mkdirSync(dbDir, {recursive: true})
      fs.appendFileSync(path.join(dbDir, `${table}.jsonl`), db.map((l) => l + '\n').join(''))
    }

    io.stdout(renderBanner(b))
    if (b.fileTransferFailures + b.failedDb > 0) {
      io.stdout(logLine('WARNING', 'cli.run', 'run.py:233', `${b.fileTransferFailures + b.failedDb} record(s) failed during ingestion; see logs for details.`))
      return 1
    }
    return 0
  } catch (e) {
    if (e instanceof Exit) throw e
    io.stderr(`\nIngestion failed: ${(e as Error).message}\n`)
    return 1
  } finally {
    if (lockFd !== undefined) {
      fs.closeSync(lockFd)
      fs.rmSync(hostPath(lockPath), {force: true})
    }
  }
}

/** The table's feature columns: the schema minus the label column (it maps onto `label`); tabular sorted (#763). */
function featureColumns(c: Record<string, any>, labelColumn: string | undefined, category: string): FeatureColumn[] {
  const schema = (c.schema && typeof c.schema === 'object' ? c.schema : {}) as Record<string, string>
  const cols = Object.entries(schema).filter(([k]) => k !== labelColumn).map(([name, type]) => ({name, type: String(type)}))
  const clash = cols.find((f) => STANDARD_NAMES.includes(f.name))
  if (clash) throw new Error(`Schema column '${clash.name}' collides with a standard column of the dataset table.`)
  if (!IMAGE_CATS.includes(category) && !TEXT_CATS.includes(category)) cols.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  return cols
}

/** Data Validator: schema columns present, known types, INT/FLOAT values parse. */
function dataErrors(schema: Record<string, string>, header: string[], records: Record<string, string>[]): string[] {
  const errs: string[] = []
  const missing = Object.keys(schema).filter((k) => !header.includes(k))
  if (missing.length) errs.push(`Schema columns not present in CSV: ${missing.join(', ')}`)
  for (const [col, t] of Object.entries(schema)) {
    if (!DATA_TYPE.test(t.trim())) errs.push(`Unknown data type: ${t}`)
    else if (/^(INT|INTEGER|BIGINT)$/i.test(t) && header.includes(col)) {
      const badRow = records.findIndex((r) => r[col] !== '' && !/^-?\d+$/.test(r[col]))
      if (badRow >= 0) errs.push(`Column '${col}' row ${badRow + 1}: '${records[badRow][col]}' is not a valid ${t}`)
    } else if (/^(FLOAT|DOUBLE|DECIMAL|NUMERIC)/i.test(t) && header.includes(col)) {
      const badRow = records.findIndex((r) => r[col] !== '' && Number.isNaN(Number(r[col])))
      if (badRow >= 0) errs.push(`Column '${col}' row ${badRow + 1}: '${records[badRow][col]}' is not a valid ${t}`)
    }
  }
  return errs
}

function elapsed(since: number): string {
  const s = Math.floor((Date.now() - since) / 1000)
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`
}

function bucket(v: string | undefined): number {
  if (v === undefined || v === '') return -1
  // sha256(str(value)) first 8 bytes mod 64
  const h = createHash('sha256').update(String(v)).digest()
  return Number(h.readBigUInt64BE(0) % 64n)
}

/** Offset of the first byte that breaks UTF-8, or -1 (the ingestor's UTF-8 probe). */
function firstNonUtf8(buf: Buffer): number {
  let i = 0
  while (i < buf.length) {
    const b = buf[i]
    const n = b < 0x80 ? 0 : b >= 0xc2 && b < 0xe0 ? 1 : b >= 0xe0 && b < 0xf0 ? 2 : b >= 0xf0 && b < 0xf5 ? 3 : -1
    if (n < 0) return i
    for (let k = 1; k <= n; k++) if (i + k >= buf.length || (buf[i + k] & 0xc0) !== 0x80) return i + k
    i += n + 1
  }
  return -1
}
