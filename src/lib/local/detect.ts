// Category detection when --category is omitted: which tasks the data on disk leaves open. Only
// signals that decide on their own count (a sidecar folder, the keypoint columns, BIO tags, a
// tokenizer); where the files cannot tell tasks apart (tabular regression vs classification, text
// classification vs sentence pairs with tabs) every candidate stays and the user must choose.
import {open, opendir, readdir} from 'node:fs/promises'
import path from 'node:path'

import {categoriesOf, type Family} from './categories.js'
import {sniffFamilies} from './layout.js'

export interface Detection {
  /** Families the path could be (empty: not a dataset layout we know). */
  families: Family[]
  /** Tasks still possible, in registry order; one means detected. */
  candidates: string[]
  /** Why these candidates, in a few words (shown with the detected category or the question). */
  why: string
}

const HEAD_BYTES = 64 * 1024

async function head(file: string): Promise<string> {
  const fh = await open(file, 'r')
  try {
    const buf = Buffer.alloc(HEAD_BYTES)
    const {bytesRead} = await fh.read(buf, 0, HEAD_BYTES, 0)
    return buf.subarray(0, bytesRead).toString('utf8')
  } finally {
    await fh.close()
  }
}

/** The first CSV records in `text` (RFC 4180 quoting), without the possibly cut last line. */
export function parseCsvHead(text: string, maxRows = 50): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < text.length && rows.length < maxRows; i++) {
    const ch = text[i]
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"'
        i++
      } else if (ch === '"') quoted = false
      else cell += ch
    } else if (ch === '"') quoted = true
    else if (ch === ',') {
      row.push(cell)
      cell = ''
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++
      row.push(cell)
      rows.push(row)
      row = []
      cell = ''
    } else cell += ch
  }
  if (rows.length > 0) rows[0] = rows[0].map((h, i) => (i === 0 ? h.replace(/^\uFEFF/, '') : h).trim())
  return rows
}

// One parse per tag: a tag never contains a space, so the engine cannot split the input two ways (an
// `|O` alternative next to [BIOES] gave every O two parses and 2^n backtracking on a bad last tag).
export const BIO_LABEL = /^[BIOES](?:-\S+)?(?: [BIOES](?:-\S+)?)*$/

async function csvIn(dir: string): Promise<string | undefined> {
  const csvs = (await readdir(dir, {withFileTypes: true})).filter((e) => e.isFile() && /\.csv$/i.test(e.name))
  return csvs.length === 1 ? path.join(dir, csvs[0].name) : undefined
}

/** The first `n` names of a folder in sorted order, streamed: a million-file folder is never held as a list. */
async function firstNames(dir: string, n: number): Promise<string[]> {
  const first: string[] = []
  for await (const e of await opendir(dir, {bufferSize: 256})) {
    const name = e.name
    if (name.startsWith('.') || (first.length === n && name >= first[n - 1]!)) continue
    let i = first.length
    while (i > 0 && first[i - 1]! > name) i--
    first.splice(i, 0, name)
    if (first.length > n) first.pop()
  }
  return first
}

async function firstTextHasTab(dir: string): Promise<boolean | undefined> {
  try {
    const names = await firstNames(dir, 5)
    if (names.length === 0) return undefined
    for (const n of names) if ((await head(path.join(dir, n))).includes('\t')) return true
    return false
  } catch {
    return undefined
  }
}

export async function detectCategories(input: string, labelColumn = 'label'): Promise<Detection> {
  const families = await sniffFamilies(input)
  if (families.length !== 1) return {families, candidates: families.flatMap((f) => categoriesOf(f)), why: families.length === 0 ? 'no known layout' : `it could be ${families.join(' or ')} data`}
  const family = families[0]
  const root = path.resolve(input)
  const all = categoriesOf(family)
  if (family === 'tabular') {
    const csv = /\.csv$/i.test(root) ? root : await csvIn(root)
    const header = csv ? (parseCsvHead(await head(csv), 1)[0] ?? []) : []
    if (header.includes('sequence_id') && header.includes('timestamp')) return {families, candidates: ['time_series_classification'], why: 'a CSV with sequence_id and timestamp columns'}
    return {families, candidates: all, why: 'a single CSV whose columns do not tell the tabular tasks apart'}
  }
  const entries = new Set((await readdir(root, {withFileTypes: true})).filter((e) => e.isDirectory()).map((e) => e.name))
  const csv = await csvIn(root)
  const rows = csv ? parseCsvHead(await head(csv)) : []
  const header = rows[0] ?? []
  if (family === 'image') {
    if (entries.has('annotations')) return {families, candidates: ['object_detection'], why: 'images/ with annotations/'}
    if (entries.has('masks')) return {families, candidates: ['semantic_segmentation'], why: 'images/ with masks/'}
    if (header.includes('Annotation') && header.includes('Visibility')) return {families, candidates: ['keypoint_detection'], why: 'images/ and Annotation/Visibility columns'}
    return {families, candidates: ['image_classification'], why: 'images/ and a CSV, without annotations/, masks/ or keypoint columns'}
  }
  // text
  if (entries.has('sequences')) return {families, candidates: ['masked_language_modeling'], why: 'sequences/ and tokenizer.json'}
  const li = header.indexOf(labelColumn)
  if (li < 0) return {families, candidates: ['causal_language_modeling', 'seq2seq', 'embeddings'], why: `texts/ and a CSV without a ${labelColumn} column`}
  const labels = rows.slice(1).map((r) => (r[li] ?? '').trim()).filter(Boolean)
  if (labels.length > 0 && labels.every((l) => BIO_LABEL.test(l)) && labels.some((l) => l.includes(' ') || /^[BIES]-/.test(l))) {
    return {families, candidates: ['token_classification'], why: 'texts/ with BIO tag labels'}
  }
  const tabs = await firstTextHasTab(path.join(root, 'texts'))
  if (tabs === false) return {families, candidates: ['text_classification'], why: `texts/ with one ${labelColumn} per file and no tab-separated pairs`}
  return {families, candidates: ['text_classification', 'sentence_pair_classification'], why: `texts/ with a ${labelColumn} column`}
}
