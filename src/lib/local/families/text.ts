// Text tasks: the manifest CSV plus texts/ (or sequences/ for MLM). Beyond the Go CLI's checks this
// previews what the ingestor enforces: referenced files exist, record formats (sentence pairs,
// embeddings), BIO tags aligned with words, and the tokenizer's special tokens.
import {readFile} from 'node:fs/promises'
import path from 'node:path'

import {scanCsv} from '../csv.js'
import {assertReadableCsv, csvShapeProblems, diversityProblem, LabelCounter, labelMissingMessage, LABEL_MISSING_HINT, referencedName, resolveColumn, type Column} from '../manifest.js'
import {DistinctRows} from '../distinct-rows.js'
import {mapLimit} from '../map-limit.js'
import {Examples, quote, someOf} from '../problems.js'
import type {FamilyContext, FamilyResult} from './types.js'

const BIO = /^(O|[BI]-\S+)$/

export async function preflightText(ctx: FamilyContext): Promise<FamilyResult> {
  const {cat, layout, opts, problems, warnings, details} = ctx
  const csvFile = layout.csv.path
  const csvName = path.basename(csvFile)
  const dir = layout.dirs[0]!
  const supervised = cat.labelForm !== 'none'
  const wantedLabel = opts.labelColumn ?? 'label'

  let fnIdx = -1
  let labelCol: Column | null = null
  const labels = new LabelCounter()
  const distinct = new DistinctRows() // whole rows: identical ones merge into one record
  // Each row's file is looked up while the CSV streams (the listing came first), so no row is kept:
  // only the rows whose file must be read later (record formats, BIO tags) are noted, as numbers.
  const files = dir.files
  const ext = path.extname(files.name(0)).toLowerCase()
  const readsFiles = cat.recordFields !== undefined || cat.name === 'token_classification'
  const missing = new Examples()
  const used = new Uint8Array(files.length)
  let usedCount = 0
  let referencing = 0
  const toRead: number[] = [] // file index, line: pairs
  const tags: Array<string | undefined> = [] // token_classification: each toRead row's label
  const res = await scanCsv(csvFile, {
    onHeader(h) {
      fnIdx = h.indexOf('filename')
      if (supervised) labelCol = resolveColumn(h, wantedLabel)
    },
    onRow(f, _r, line) {
      distinct.add(f)
      const label = labelCol ? f.cell(labelCol.index) : undefined
      if (labelCol) labels.add(label!.trim())
      if (fnIdx < 0) return
      referencing++
      const name = referencedName(f.cell(fnIdx), ext)
      const i = files.indexOf(name)
      if (i < 0) { missing.add(`${quote(name)} (line ${line})`); return }
      if (used[i] === 0) { used[i] = 1; usedCount++ }
      if (!readsFiles) return
      toRead.push(i, line)
      if (cat.name === 'token_classification') tags.push(label)
    },
    onProgress: (bytes) => opts.onProgress?.({phase: 'Reading ' + csvName, bytes}),
  })
  const header = assertReadableCsv(csvFile, res)
  for (const m of csvShapeProblems(csvFile, res)) problems.data(m)
  if (fnIdx < 0) problems.data(`${quote(csvName)} has no "filename" column (columns: ${someOf(header, header.length, 12)}) — add a lowercase "filename" column naming each file in ${dir.subdir}/`)

  const labelName = (labelCol as Column | null)?.name
  if (supervised) {
    if (!labelCol) problems.input(labelMissingMessage(csvFile, wantedLabel, header, opts.labelColumn !== undefined), LABEL_MISSING_HINT)
    else if (cat.classification) {
      const d = diversityProblem(labels, labelName!, cat.name)
      if (d) problems.data(d)
    }
    if (labelCol && cat.classification) details.labels = labels.summary()
  }

  // referenced files have the record format the ingestor enforces
  const badRecord = new Examples()
  const badBio = new Examples()
  const rowsToRead = Array.from({length: toRead.length / 2}, (_, k) => k)
  await mapLimit(rowsToRead, 16, async (k) => {
    const f = files.at(toRead[2 * k]!)!
    const r = {line: toRead[2 * k + 1]!, label: cat.name === 'token_classification' ? tags[k] : undefined}
    const name = f.name
    const text = await readFile(f.path, 'utf8')
    if (cat.recordFields) {
      const body = text.replace(/\r?\n$/, '')
      const {min, max} = cat.recordFields
      if (body.includes('\n')) badRecord.add(`${name}: more than one line`)
      else {
        const fields = body.split('\t')
        if (fields.length < min || fields.length > max) badRecord.add(`${name}: ${fields.length} field(s)`)
        else if (fields.some((x) => x.trim() === '')) badRecord.add(`${name}: an empty field`)
      }
    }
    if (cat.name === 'token_classification' && r.label !== undefined) {
      const tags = r.label.trim().split(/\s+/).filter(Boolean)
      const words = text.trim().split(/\s+/).filter(Boolean)
      const invalid = tags.filter((t) => !BIO.test(t))
      if (invalid.length > 0) badBio.add(`line ${r.line} (${name}): invalid tag(s) ${someOf(invalid.map(quote), invalid.length, 3)}`)
      else if (tags.length !== words.length) badBio.add(`line ${r.line} (${name}): ${tags.length} tag(s) for ${words.length} word(s)`)
    }
  })
  if (missing.count > 0) problems.data(`${missing.count} row(s) of ${quote(csvName)} reference files that are not in ${dir.subdir}/: ${missing} — add the files or remove those rows`)
  if (badRecord.count > 0) problems.data(`${badRecord.count} file(s) in ${dir.subdir}/ don't have the ${cat.name} record format (${cat.recordFields!.names} on one line): ${badRecord} — separate fields with exactly one tab`)
  if (badBio.count > 0) problems.data(`${badBio.count} row(s) of ${quote(csvName)} have labels that are not one BIO tag per word: ${badBio} — each tag must be O, B-<TYPE> or I-<TYPE>, one per whitespace-separated word`)
  const unused = files.length - usedCount
  if (referencing > 0 && unused > 0) warnings.push(`${unused} file(s) in ${dir.subdir}/ have no row in ${csvName}; they are uploaded but not referenced`)

  // tokenizer.json: optional for most tasks, but when present it must carry the special tokens
  const needMask = cat.name === 'masked_language_modeling'
  if (layout.tokenizer) {
    let tok: unknown
    try {
      tok = JSON.parse(await readFile(layout.tokenizer.path, 'utf8'))
    } catch {
      problems.data('tokenizer.json is not valid JSON — re-export it from your tokenizer (tokenizer.save("tokenizer.json"))')
    }
    if (tok !== undefined) {
      const t = tok as {model?: {vocab?: unknown}; added_tokens?: Array<{content?: string}>}
      const vocab = t.model?.vocab
      const has = (s: string): boolean =>
        (Array.isArray(t.added_tokens) && t.added_tokens.some((a) => a?.content === s)) ||
        (vocab !== null && typeof vocab === 'object' && (Array.isArray(vocab) ? vocab.some((v) => (Array.isArray(v) ? v[0] : v) === s) : s in (vocab as object)))
      const need = needMask ? ['[MASK]', '[PAD]'] : ['[PAD]']
      const absent = need.filter((s) => !has(s))
      if (absent.length > 0) problems.data(`tokenizer.json has no ${absent.join(' or ')} token — ${cat.name} needs ${need.join(' and ')} in model.vocab or added_tokens`)
    }
  } else if (needMask) {
    warnings.push('no tokenizer.json next to the CSV — masked_language_modeling training needs one with [MASK] and [PAD]')
  }
  details.files = dir.files.length
  details.extension = ext
  return {rows: res.rows, distinctRows: distinct.size, label: labelName ?? opts.labelColumn}
}
