// Image tasks (classification, object detection, keypoints, semantic segmentation): one pass over
// the CSV, one header probe per image, then the per-task pairing/annotation checks (docs/protocol.md#preflight-checks).
import {readFile} from 'node:fs/promises'
import path from 'node:path'

import {scanCsv} from '../csv.js'
import {probeImage, type ImageProbe} from '../image-header.js'
import {assertReadableCsv, csvShapeProblems, diversityProblem, LabelCounter, labelMissingMessage, LABEL_MISSING_HINT, referencedName, resolveColumn, type Column} from '../manifest.js'
import {isCuratedNA} from '../cell-values.js'
import {DistinctRows} from '../distinct-rows.js'
import type {FileList} from '../layout.js'
import {mapLimit} from '../map-limit.js'
import {Examples, quote, someOf} from '../problems.js'
import {checkKeypointRow} from './keypoints.js'
import {vocProblems} from './voc.js'
import type {FamilyContext, FamilyResult} from './types.js'

const IMAGE_EXTS = new Set(['.jpg', '.jpeg', '.png'])

const indexes = (n: number): number[] => Array.from({length: n}, (_, i) => i)

const stem = (n: string): string => n.slice(0, n.length - path.extname(n).length)

export async function preflightImage(ctx: FamilyContext): Promise<FamilyResult> {
  const {cat, layout, opts, problems, warnings, details} = ctx
  const csvFile = layout.csv.path
  const csvName = path.basename(csvFile)
  const images = layout.dirs.find((d) => d.subdir === 'images')!.files
  const wantedLabel = opts.labelColumn ?? 'label'

  let fnCol: Column | null = null
  let labelCol: Column | null = null
  let annCol: Column | null = null
  let visCol: Column | null = null
  let maskCol: Column | null = null
  const labels = new LabelCounter()
  const kpBad = new Examples()
  const maskIdEmpty = new Examples()
  // the extension the ingestor will use: the most common one across images/ (mixing is reported below)
  const byExt = new Map<string, number>()
  for (const f of images) {
    const e = path.extname(f.name).toLowerCase()
    byExt.set(e, (byExt.get(e) ?? 0) + 1)
  }
  const extension = [...byExt].sort((a, b) => b[1] - a[1])[0]![0]

  // Rows are matched to images/ while the CSV streams (the listing came first), so no row is kept.
  const crossChecked = cat.name === 'image_classification' || cat.name === 'semantic_segmentation'
  const missing = new Examples()
  const foreign = new Set<string>()
  const used = new Uint8Array(images.length)
  let usedCount = 0
  opts.onProgress?.({phase: 'Reading ' + csvName, bytes: 0})
  const distinct = new DistinctRows() // whole rows: identical ones merge into one record
  const res = await scanCsv(csvFile, {
    onHeader(h) {
      // exact lowercase `filename`: the transfer step does a case-sensitive record.get("filename")
      const i = h.indexOf('filename')
      fnCol = i >= 0 ? {index: i, name: 'filename'} : null
      labelCol = resolveColumn(h, wantedLabel)
      if (cat.name === 'keypoint_detection') {
        annCol = resolveColumn(h, 'Annotation')
        visCol = resolveColumn(h, 'Visibility')
      }
      if (cat.name === 'semantic_segmentation') {
        const m = h.indexOf('mask_id')
        maskCol = m >= 0 ? {index: m, name: 'mask_id'} : null
      }
    },
    onRow(f, _row, line) {
      distinct.add(f)
      if (fnCol && crossChecked) {
        const cell = f.cell(fnCol.index)
        const n = referencedName(cell, extension)
        const i = images.indexOf(n)
        if (i >= 0) {
          if (used[i] === 0) { used[i] = 1; usedCount++ }
        } else {
          missing.add(`${quote(n)} (line ${line})`)
          const ext = path.extname(cell.trim()).toLowerCase()
          if (ext && !IMAGE_EXTS.has(ext)) foreign.add(ext)
        }
      }
      if (labelCol) labels.add(f.cell(labelCol.index).trim())
      if (annCol && visCol && opts.numberOfKeypoints) {
        const err = checkKeypointRow(f.cell(annCol.index), f.cell(visCol.index), opts.numberOfKeypoints)
        if (err) kpBad.add(`line ${line}: ${err}`)
      }
      if (maskCol && isCuratedNA(f.cell(maskCol.index))) maskIdEmpty.add(`line ${line}`)
    },
    onProgress: (bytes) => opts.onProgress?.({phase: 'Reading ' + csvName, bytes}),
  })
  const header = assertReadableCsv(csvFile, res)
  for (const m of csvShapeProblems(csvFile, res)) problems.data(m)

  // filename column
  if (!fnCol) {
    const alt = header.find((h) => h.toLowerCase() === 'filename')
    if (alt) problems.data(`${quote(csvName)} has a ${quote(alt)} column but the ingestor needs it named exactly "filename" (lowercase) — rename the header`)
    else problems.data(`${quote(csvName)} has no "filename" column (columns: ${someOf(header, header.length, 12)}) — add a "filename" column naming each image in images/${header.some((h) => /^(image_id|data_id)$/i.test(h)) ? ' (image_id/data_id are not used to find files)' : ''}`)
  }

  // one extension across images/
  if (byExt.size > 1) {
    problems.data(`your images mix file types (${[...byExt].map(([e, n]) => `${e} ×${n}`).join(', ')}) — convert them to one type; the ingestor accepts a single extension per dataset`)
  }

  // headers of every image: dimensions only
  let done = 0
  const probes = await mapLimit(indexes(images.length), 32, async (i) => {
    const p = images.headers?.[i] ?? (await probeImage(images.prefix + images.name(i)))
    if (++done % 1000 === 0) opts.onProgress?.({phase: 'Checking images', files: done})
    return p
  })
  opts.onProgress?.({phase: 'Checking images', files: done})
  const firstOk = probes.find((p) => p.ok) as (ImageProbe & {ok: true}) | undefined
  const target: [number, number] | undefined = opts.targetSize ?? (firstOk ? [firstOk.width, firstOk.height] : undefined)
  if (!opts.targetSize && firstOk) details.resolutionSource = `detected from ${images.name(probes.indexOf(firstOk))}`
  checkResolutions('images', images, probes, target, opts, problems, !opts.targetSize)
  details.extension = extension
  details.resolution = target
  details.images = images.length

  // label column and diversity (untyped: an empty string is a class for image tasks)
  const labelName = (labelCol as Column | null)?.name
  if (labelCol) {
    const d = diversityProblem(labels, labelName!, cat.name)
    if (d) problems.data(d)
    details.labels = labels.summary()
  } else if (cat.name === 'image_classification') {
    problems.input(labelMissingMessage(csvFile, wantedLabel, header, opts.labelColumn !== undefined), LABEL_MISSING_HINT)
  } else if (opts.labelColumn === undefined) {
    problems.input(labelMissingMessage(csvFile, wantedLabel, header, false), LABEL_MISSING_HINT)
  }

  const crossCheck = (): void => {
    if (!fnCol) return
    if (missing.count > 0) {
      // a reference to a type the ingestor does not take (cat.bmp) is skipped from images/, not missing: say so
      const f = [...foreign].sort()
      const why = f.length > 0 ? ` (${f.slice(0, 5).join(', ')} ${f.length === 1 ? 'is not an image type' : 'are not image types'} the ingestor takes: use .jpg, .jpeg or .png)` : ''
      problems.data(`${missing.count} row(s) of ${quote(csvName)} reference images that are not in images/${why}: ${missing} — add the files or remove those rows`)
    }
    const unused = images.length - usedCount
    if (unused > 0) warnings.push(`${unused} image(s) in images/ have no row in ${csvName}; they are uploaded but not labelled`)
  }

  if (cat.name === 'image_classification') crossCheck()

  if (cat.name === 'object_detection') {
    const anns = layout.dirs.find((d) => d.subdir === 'annotations')!.files
    pairing(images.map((f) => stem(f.name)), anns.map((f) => stem(f.name)), 'image', 'annotations/', 'annotation', problems)
    const bad = new Examples()
    await mapLimit(indexes(anns.length), 16, async (i) => {
      const name = anns.name(i)
      const errs = vocProblems(await readFile(anns.prefix + name, 'utf8'))
      if (errs.length > 0) bad.add(`${name}: ${errs[0]}`)
    })
    if (bad.count > 0) problems.data(`${bad.count} annotation file(s) are not valid Pascal VOC XML: ${bad} — fix them (root <annotation> with <source>, <size> and <object><bndbox> where xmin<xmax, ymin<ymax)`)
  }

  if (cat.name === 'semantic_segmentation') {
    const masks = layout.dirs.find((d) => d.subdir === 'masks')!.files
    const good = masks.filter((m) => /_mask\.png$/i.test(m.name))
    const badNames = masks.filter((m) => !/_mask\.png$/i.test(m.name)).map((m) => m.name)
    if (badNames.length > 0) problems.data(`${badNames.length} mask(s) in masks/ are not named <image stem>_mask.png: ${someOf(badNames)} — rename them (image_001.jpg ↔ image_001_mask.png)`)
    pairing(images.map((f) => stem(f.name)), good.map((m) => m.name.slice(0, -'_mask.png'.length)), 'image', 'masks/', 'mask', problems)
    if (!maskCol) problems.data(`${quote(csvName)} has no "mask_id" column (columns: ${someOf(header, header.length, 12)}) — add a lowercase "mask_id" column naming each row's mask (e.g. image_001_mask)`)
    else if (maskIdEmpty.count > 0) problems.data(`${maskIdEmpty.count} row(s) of ${quote(csvName)} have an empty mask_id: ${maskIdEmpty} — fill in each row's mask name`)
    const mprobes = await mapLimit(indexes(masks.length), 16, async (i) => masks.headers?.[i] ?? (await probeImage(masks.prefix + masks.name(i))))
    checkResolutions('masks', masks, mprobes, target, opts, problems, false)
    crossCheck()
  }

  if (cat.name === 'keypoint_detection') {
    if (!annCol || !visCol) {
      const miss = [!annCol && '"Annotation"', !visCol && '"Visibility"'].filter(Boolean).join(' and ')
      problems.data(`${quote(csvName)} has no ${miss} column — keypoint datasets need Annotation ({"name": [x, y], …}) and Visibility ({"name": 0|1, …}) JSON columns`)
    } else if (kpBad.count > 0) {
      problems.data(`${kpBad.count} row(s) of ${quote(csvName)} have invalid keypoint JSON: ${kpBad} — Annotation must be {"name": [x, y], …} with ${opts.numberOfKeypoints} non-negative points and Visibility {"name": 0|1, …} with the same names`)
    }
  }

  return {rows: res.rows, distinctRows: distinct.size, label: labelName ?? opts.labelColumn ?? 'label', extension, targetSize: target}
}

function checkResolutions(dir: string, files: FileList, probes: ImageProbe[], target: [number, number] | undefined, opts: FamilyContext['opts'], problems: FamilyContext['problems'], detected: boolean): void {
  const broken = new Examples()
  const small = new Examples()
  const wrong = new Examples()
  probes.forEach((p, i) => {
    const name = files.name(i)
    if (!p.ok) { broken.add(`${name} (${p.detail})`); return }
    if (opts.minSize && (p.width < opts.minSize[0] || p.height < opts.minSize[1])) small.add(`${name} (${p.width}×${p.height})`)
    if (target && (p.width !== target[0] || p.height !== target[1])) wrong.add(`${name} (${p.width}×${p.height})`)
  })
  if (broken.count > 0) problems.data(`${broken.count} file(s) in ${dir}/ can't be ingested: ${broken} — replace or remove them`)
  if (small.count > 0) problems.data(`${small.count} file(s) in ${dir}/ are smaller than the ${opts.minSize![0]}×${opts.minSize![1]} minimum you set with --min-size: ${small} — use larger images or lower --min-size`)
  if (wrong.count > 0 && target) {
    problems.data(`${wrong.count} file(s) in ${dir}/ don't match the ${target[0]}×${target[1]} resolution${detected ? ' (detected from the first image)' : ''}: ${wrong} — resize them so all match (the ingestor does not resize)${dir === 'images' ? ', or pass --target-size WxH' : ''}`)
  }
}

function pairing(a: string[], b: string[], aWhat: string, bDir: string, bWhat: string, problems: FamilyContext['problems']): void {
  const sa = new Set(a)
  const sb = new Set(b)
  const noB = a.filter((s) => !sb.has(s))
  const noA = b.filter((s) => !sa.has(s))
  if (noB.length > 0) problems.data(`${noB.length} ${aWhat}(s) have no matching ${bWhat} in ${bDir}: ${someOf(noB)} — add the ${bWhat}s or remove those ${aWhat}s`)
  if (noA.length > 0) problems.data(`${noA.length} ${bWhat}(s) in ${bDir} have no matching ${aWhat}: ${someOf(noA)} — remove them or add the ${aWhat}s`)
}
