// Entry point of the local half of `dataset push`: layout discovery → preflight (one streaming pass
// per file) → ingest-config synthesis → schema validation. Nothing here touches the cluster.
import {open, readdir} from 'node:fs/promises'
import path from 'node:path'
import {createInterface} from 'node:readline/promises'

import {CliError, ExitCode} from '../output/errors.js'
import {truncateText} from '../output/truncate.js'
import {dumpIngestYaml, formatIssues, SQL_TYPES, sqlTypeProblem, TABLE_NAME_MAX, TABLE_NAME_RE, validateIngestConfig} from '../schema/index.js'
import {CATEGORIES, categoriesOf, type CategoryInfo, type Family, flagAppliesTo, flagName, REGISTRY, SCOPED_FLAGS} from './categories.js'
import {stagingPrefix, synthesizeConfig} from './config.js'
import {preflightImage} from './families/image.js'
import {preflightTabular} from './families/tabular.js'
import {preflightText} from './families/text.js'
import type {FamilyContext, FamilyResult, ResolvedOptions} from './families/types.js'
import {detectCategories, parseCsvHead} from './detect.js'
import {discoverLayout, type Layout, sniffFamilies} from './layout.js'
import {type StagedFile, StagedFiles} from './file-list.js'
import {LABEL_MISSING_HINT, labelMissingMessage, resolveColumn} from './manifest.js'
import {sampleLayout, type SampleInfo, type SampleSpec} from './sample.js'
import {trimEndChar} from './cell-values.js'
import {badData, badInput, Examples, localReadError, Problems, quote, someOf, unstageableName} from './problems.js'

export {CATEGORIES, flagAppliesTo} from './categories.js'
export {parseSchemaFlag, parseSize} from './flags.js'
export {parseSampleFlag, type SampleInfo, type SampleSpec} from './sample.js'

export interface PlanOptions {
  path: string
  table: string
  category?: string
  intent?: 'train' | 'test'
  labelColumn?: string
  targetSize?: [number, number]
  minSize?: [number, number]
  schema?: Record<string, string>
  labelPolicy?: 'passthrough' | 'bucket'
  timeColumn?: string
  numberOfKeypoints?: number
  interactive?: boolean
  /** Push a seeded, label-stratified part of the dataset instead of all of it (sample.ts). */
  sample?: SampleSpec
  /** Called when the category was detected from the data (no --category, one possible task). */
  onDetected?: (category: string, why: string) => void
  onProgress?: (p: {phase: string; files?: number; bytes?: number}) => void
  /** Called with the layout before the checks: a remote source gives its images' sizes and headers here. */
  adjustLayout?: (layout: Layout) => Promise<void>
}

export type {StagedFile, StagedFiles} from './file-list.js'

export interface DatasetPlan {
  category: string
  family: Family
  table: string
  intent: 'train' | 'test'
  stagingPrefix: string
  config: Record<string, unknown>
  configYaml: string
  /** Read like a read-only array (length, at, iteration, map, reduce, slice); held by column, not per file. */
  files: StagedFiles
  totalBytes: number
  rows: number
  /** Distinct rows (each a record in the table), when counted: below `rows` when rows repeat. */
  distinctRows?: number
  warnings: string[]
  details: Record<string, unknown>
  /** Set when only a sample is pushed: `files`, `rows` and `totalBytes` are the sample's. */
  sample?: SampleInfo
}

/**
 * A valid table name close to `table` (the ingestor's rule, TABLE_NAME_RE): other characters become
 * `_`, leading `_` go, a leading digit gets a `t_` prefix, at most TABLE_NAME_MAX characters.
 */
export function suggestTableName(table: string): string {
  let s = table.replace(/[^A-Za-z0-9_]/g, '_').replace(/^_+/, '')
  if (!/^[A-Za-z]/.test(s)) s = `t_${s}`
  return trimEndChar(s.slice(0, TABLE_NAME_MAX), '_') || 't'
}

export function checkTableName(table: string): void {
  if (!table) throw badInput('dataset name is required (set --table)', undefined, 'table_name')
  if (table.length > TABLE_NAME_MAX) throw badInput(`table name is ${table.length} characters; the max is ${TABLE_NAME_MAX} — pick a shorter --table`, undefined, 'table_name')
  if (!TABLE_NAME_RE.test(table)) throw badInput(`${quote(table)} won't work as a table name — start with a letter, then only letters, digits and _ (no hyphens, spaces or dots); e.g. ${quote(suggestTableName(table))}`, undefined, 'table_name')
}

function checkSize(name: string, v: [number, number] | undefined): void {
  if (v === undefined) return
  if (!Array.isArray(v) || v.length !== 2 || !v.every((n) => Number.isInteger(n) && n >= 1)) throw badInput(`${name} must be two positive integers WxH (e.g. 256x256)`, undefined, 'bad_flag')
}

async function pickCategory(opts: PlanOptions): Promise<CategoryInfo> {
  if (opts.category !== undefined) {
    const c = REGISTRY.get(opts.category)
    if (!c) throw badInput(`task ${quote(opts.category)} isn't a recognized category. Supported: ${CATEGORIES.join(', ')}`, 'Pass --category with one of the names above.', 'unknown_category')
    checkCategoryFits(c, await sniffFamilies(opts.path), opts.path)
    await checkNothingUnused(c, opts)
    return c
  }
  const found = await detectCategories(opts.path, opts.labelColumn)
  if (found.families.length === 0) {
    throw new CliError(`can't tell what kind of data ${quote(opts.path)} holds (expected a CSV, or a folder with a CSV plus images/, texts/ or sequences/)`, {
      exitCode: ExitCode.LOCAL_ENV,
      hint: `fix the layout, or pass --category (one of: ${CATEGORIES.join(', ')})`,
      reason: 'category_unknown',
    })
  }
  if (found.candidates.length === 1) {
    opts.onDetected?.(found.candidates[0]!, found.why)
    return REGISTRY.get(found.candidates[0]!)!
  }
  const tasks = found.candidates
  const fam = found.families.join(' or ')
  if (!opts.interactive) {
    // The prompt would decide; without a terminal that is exit 3 (README), naming the choices.
    throw new CliError(`can't pick the category: ${quote(opts.path)} looks like ${fam} data (${found.why}), which fits ${tasks.join(', ')}`, {
      exitCode: ExitCode.LOCAL_ENV,
      hint: `pass --category with one of: ${tasks.join(', ')} (no terminal to ask on)`,
      reason: 'category_required',
    })
  }
  checkFlagValues(opts)
  await checkLabelColumnBeforeAsking(opts)
  const rl = createInterface({input: process.stdin, output: process.stderr})
  try {
    process.stderr.write(`This looks like ${fam} data (${found.why}). Which task is it for?\n`)
    tasks.forEach((t, i) => process.stderr.write(`  ${i + 1}) ${t} — ${REGISTRY.get(t)!.blurb}\n`))
    for (;;) {
      const ans = (await rl.question(`Task [1-${tasks.length}]: `)).trim()
      const n = Number(ans)
      const pick = Number.isInteger(n) && n >= 1 && n <= tasks.length ? tasks[n - 1] : tasks.find((t) => t === ans)
      if (pick) return REGISTRY.get(pick)!
      process.stderr.write(`Please answer with a number from 1 to ${tasks.length}.\n`)
    }
  } finally {
    rl.close()
  }
}

/** A category given with --category must fit what is on disk (else e.g. images/ would be ignored). */
function checkCategoryFits(cat: CategoryInfo, families: Family[], input: string): void {
  if (families.length === 0 || families.includes(cat.family)) return
  // A folder with only a CSV given an image/text task is a missing images/ (…) folder: the layout check says so (exit 3).
  if (families.every((f) => f === 'tabular') && !/\.csv$/i.test(input)) return
  const what = families.includes('image') ? 'images/ next to the CSV' : families.includes('text') ? 'texts/ or sequences/ next to the CSV' : 'a CSV without images/, texts/ or sequences/'
  const fits = families.flatMap((f) => categoriesOf(f))
  throw badInput(
    `${quote(input)} holds ${families.join(' or ')} data (${what}), but ${cat.name} is ${cat.family === 'image' ? 'an' : 'a'} ${cat.family} task`,
    cat.family === 'tabular' && families.length > 0 ? `pass the CSV file itself for a ${cat.name} push, or --category one of: ${fits.join(', ')}` : `pass --category one of: ${fits.join(', ')}`,
    'category_mismatch',
  )
}

/** A --label-column the CSV does not have is a flag error: said before the question, not after the answer. */
async function checkLabelColumnBeforeAsking(opts: PlanOptions): Promise<void> {
  if (opts.labelColumn === undefined || opts.labelColumn.trim() === '') return
  const header = await csvHeader(opts.path)
  if (header && header.length > 0 && !resolveColumn(header.header, opts.labelColumn)) {
    throw badInput(labelMissingMessage(header.file, opts.labelColumn, header.header, true), LABEL_MISSING_HINT, 'preflight_failed')
  }
}

/** The dataset CSV's first line (a CSV file, or the one CSV / labels.csv of a folder); undefined when unclear. */
async function csvHeader(input: string): Promise<{file: string; header: string[]; length: number} | undefined> {
  try {
    const p = path.resolve(input)
    let file = p
    if (!/\.csv$/i.test(p)) {
      const csvs = (await readdir(p)).filter((n) => /\.csv$/i.test(n) && !n.startsWith('.'))
      const csv = csvs.length === 1 ? csvs[0] : csvs.includes('labels.csv') ? 'labels.csv' : undefined
      if (!csv) return undefined
      file = path.join(p, csv)
    }
    const fh = await open(file, 'r')
    try {
      const buf = Buffer.alloc(64 * 1024)
      const {bytesRead} = await fh.read(buf, 0, buf.length, 0)
      const header = parseCsvHead(buf.subarray(0, bytesRead).toString('utf8'), 1)[0] ?? []
      return {file, header, length: header.length}
    } finally {
      await fh.close()
    }
  } catch {
    return undefined // the layout and CSV checks report it
  }
}

/**
 * A category given with --category must use everything the folder holds: annotations/, masks/ or
 * sequences/ beside the CSV, or keypoint columns, that the task would not read are data the user meant
 * to push. Refused (exit 2) naming what would be left out and the category that reads it.
 */
async function checkNothingUnused(cat: CategoryInfo, opts: PlanOptions): Promise<void> {
  if (cat.family === 'tabular') return
  const found = await detectCategories(opts.path, opts.labelColumn)
  if (found.families.length !== 1 || found.families[0] !== cat.family || found.candidates.includes(cat.name)) return
  let dirs: Set<string>
  try {
    dirs = new Set((await readdir(path.resolve(opts.path), {withFileTypes: true})).filter((e) => e.isDirectory()).map((e) => e.name))
  } catch {
    return // the layout check that follows reports an unreadable folder
  }
  const header = (await csvHeader(opts.path))?.header ?? []
  const used = new Set<string | null>([cat.primarySubdir, ...cat.sidecars.map((s) => s.subdir)])
  const unused = ['annotations', 'masks', 'sequences'].filter((d) => dirs.has(d) && !used.has(d)).map((d) => `${d}/`)
  if (cat.name !== 'keypoint_detection' && header.includes('Annotation') && header.includes('Visibility')) unused.push('the Annotation and Visibility (keypoint) columns')
  if (unused.length === 0) return
  const fits = found.candidates
  throw badInput(
    `${cat.name} would leave ${unused.join(' and ')} in ${quote(opts.path)} unused (${found.why})`,
    `pass --category ${fits.length === 1 ? fits[0] : `one of: ${fits.join(', ')}`}, which ${fits.length === 1 ? 'reads' : 'read'} ${unused.length === 1 && !unused[0]!.startsWith('the ') ? 'it' : 'them'}; nothing was uploaded`,
    'category_mismatch',
  )
}

/** Flag values wrong whatever the category: reported before any question is asked. */
function checkFlagValues(opts: PlanOptions): void {
  checkSize('--target-size', opts.targetSize)
  checkSize('--min-size', opts.minSize)
  if (opts.labelPolicy !== undefined && !['passthrough', 'bucket'].includes(opts.labelPolicy)) throw badInput(`--label-policy must be bucket or passthrough, not ${quote(String(opts.labelPolicy))}`, undefined, 'bad_flag')
  if (opts.numberOfKeypoints !== undefined && (!Number.isInteger(opts.numberOfKeypoints) || opts.numberOfKeypoints <= 0)) throw badInput(`--number-of-keypoints must be a positive integer, not ${opts.numberOfKeypoints}`, undefined, 'bad_flag')
  if (opts.labelColumn !== undefined && opts.labelColumn.trim() === '') throw badInput('--label-column is empty — name the CSV column that holds the label', undefined, 'bad_flag')
  if (opts.timeColumn !== undefined && opts.timeColumn.trim() === '') throw badInput('--time-column is empty — name the CSV column that holds the time', undefined, 'bad_flag')
  if (opts.schema) {
    const bad = Object.entries(opts.schema).filter(([, t]) => sqlTypeProblem(t))
    if (Object.keys(opts.schema).length === 0) throw badInput('--schema is empty — use col:TYPE,…', undefined, 'bad_flag')
    if (bad.length > 0) throw badInput(`--schema has ${bad.every(([, t]) => sqlTypeProblem(t)!.unknown) ? 'unknown' : 'invalid'} SQL type(s): ${someOf(bad.map(([c, t]) => `${truncateText(c, 64)}:${truncateText(t, 64)}`))} — use one of ${SQL_TYPES.join(', ')}, e.g. VARCHAR(255), DECIMAL(10,2)`, undefined, 'bad_flag')
  }
}

function resolveOptions(cat: CategoryInfo, opts: PlanOptions): ResolvedOptions {
  const given = SCOPED_FLAGS.filter((k) => opts[k] !== undefined)
  const misapplied = given.filter((k) => !flagAppliesTo(k, cat.name))
  if (misapplied.length > 0) {
    throw badInput(`${misapplied.map(flagName).join(', ')} ${misapplied.length === 1 ? "doesn't" : "don't"} apply to ${cat.name} — remove ${misapplied.length === 1 ? 'it' : 'them'}`, undefined, 'flag_not_applicable')
  }
  checkFlagValues(opts)
  if (cat.name === 'keypoint_detection') {
    const n = opts.numberOfKeypoints
    if (n === undefined) throw badInput('keypoint_detection needs --number-of-keypoints N (the keypoints per image, e.g. 17 for COCO pose)', undefined, 'bad_flag')
    if (!Number.isInteger(n) || n <= 0) throw badInput(`--number-of-keypoints must be a positive integer, not ${n}`, undefined, 'bad_flag')
  }
  return {
    labelColumn: opts.labelColumn,
    targetSize: opts.targetSize,
    minSize: opts.minSize,
    schema: opts.schema,
    labelPolicy: opts.labelPolicy ?? 'bucket',
    timeColumn: opts.timeColumn,
    numberOfKeypoints: opts.numberOfKeypoints,
    onProgress: opts.onProgress,
  }
}

/**
 * The task for `opts`: --category, or (interactive) the user's answer to the prompt. Callers that
 * show a live task list ask this first: listr2 holds back stderr while it renders, which hid the
 * question behind a spinner until it was answered blind.
 */
export async function chooseCategory(opts: PlanOptions): Promise<string> {
  checkTableName(opts.table)
  try {
    return (await pickCategory(opts)).name
  } catch (error) {
    throw localReadError(error) ?? error
  }
}

/** Names the ingestor cannot take fail here, before any cluster call (they used to fail at staging). */
function checkFileNames(layout: Awaited<ReturnType<typeof discoverLayout>>): void {
  const bad = new Examples()
  const reasons = new Set<string>()
  for (const d of layout.dirs) {
    for (let i = 0; i < d.files.length; i++) {
      const name = d.files.name(i)
      const why = unstageableName(name)
      if (!why) continue
      reasons.add(why)
      bad.add(`${d.subdir}/${quote(name)}`)
    }
  }
  if (bad.count > 0) {
    throw badData(`${bad.count} file name(s) the ingestor cannot take (${[...reasons].join(', ')}): ${bad}`, 'rename those files (letters, digits, spaces, - _ . are safe) and update the CSV; nothing was uploaded', 'bad_file_name')
  }
}

export async function planDataset(opts: PlanOptions): Promise<DatasetPlan> {
  try {
    return await planDatasetUnchecked(opts)
  } catch (error) {
    throw localReadError(error) ?? error
  }
}

async function planDatasetUnchecked(opts: PlanOptions): Promise<DatasetPlan> {
  checkTableName(opts.table)
  const intent = opts.intent ?? 'train'
  if (intent !== 'train' && intent !== 'test') throw badInput(`--intent must be train or test, not ${quote(String(intent))}`, undefined, 'bad_flag')
  const cat = await pickCategory(opts)
  const ro = resolveOptions(cat, opts)

  opts.onProgress?.({phase: 'Reading your files'})
  const layout = await discoverLayout(opts.path, cat, opts.onProgress)
  checkFileNames(layout)
  await opts.adjustLayout?.(layout)
  const ctx: FamilyContext = {cat, layout, opts: ro, problems: new Problems(), warnings: [...layout.warnings], details: {}}
  let r: FamilyResult
  if (cat.family === 'image') r = await preflightImage(ctx)
  else if (cat.family === 'text') r = await preflightText(ctx)
  else r = await preflightTabular(ctx)
  ctx.problems.throwIfAny(path.basename(layout.csv.path) === 'labels.csv' ? layout.root : layout.csv.path)

  const config = synthesizeConfig(cat, opts.table, intent, r, ro)
  const issues = validateIngestConfig(config)
  if (issues.length > 0) {
    throw new CliError(`synthesized ingest config failed schema validation (${issues.length} issue${issues.length === 1 ? '' : 's'}):\n${formatIssues(issues)}`, {
      exitCode: ExitCode.BAD_INPUT,
      reason: 'config_invalid',
      hint: 'Check the flag values above.',
    })
  }

  // the whole dataset was checked above; only the sample's rows and files go on
  const csvName = path.basename(layout.csv.path)
  const sample = opts.sample ? await sampleLayout(cat, layout, r.label, r.extension, opts.sample) : undefined
  const files: StagedFile[] = [{localPath: layout.csv.path, stagedPath: 'labels.csv', size: layout.csv.size, mtimeMs: layout.csv.mtimeMs, dev: layout.csv.dev, ino: layout.csv.ino}]
  if (layout.tokenizer) files.push({localPath: layout.tokenizer.path, stagedPath: 'tokenizer.json', size: layout.tokenizer.size, mtimeMs: layout.tokenizer.mtimeMs, dev: layout.tokenizer.dev, ino: layout.tokenizer.ino})
  // the listed folders' files as they are: no entry per file is copied
  const staged = new StagedFiles(files, layout.dirs.map((d) => d.files))
  const totalBytes = staged.totalBytes()

  return {
    category: cat.name,
    family: cat.family,
    table: opts.table,
    intent,
    stagingPrefix: stagingPrefix(opts.table),
    config,
    configYaml: dumpIngestYaml(config),
    files: staged,
    totalBytes,
    rows: sample?.rows ?? r.rows,
    distinctRows: sample ? undefined : r.distinctRows,
    warnings: ctx.warnings,
    details: {...ctx.details, csv: csvName, root: layout.root},
    ...(sample ? {sample} : {}),
  }
}
