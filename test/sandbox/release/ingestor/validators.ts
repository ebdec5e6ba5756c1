// The category validators of docs/protocol.md#ingestor-validators beyond file type / resolution / table / duplicate:
// Pascal VOC XML, file pairing (images ↔ annotations, images ↔ `_mask` masks), keypoint Annotation /
// Visibility JSON, BIO tags, tokenizer special tokens, and the time-series / time-to-event checks.
// Each returns the validator's error strings. Where the real ingestor's wording is pinned by the
// parity goldens (../shared/reference/parity/goldens.json) it is reproduced exactly; the others follow
// the same style and say so in a comment.
import * as fs from 'node:fs'
import path from 'node:path'

type Row = Record<string, string>

/** Python repr of a list of strings: ['a', 'b']. */
export const pyList = (xs: (string | number)[]): string => `[${xs.map((x) => (typeof x === 'number' ? String(x) : `'${x.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`)).join(', ')}]`

const stem = (f: string) => path.basename(f, path.extname(f))

/** Visible files under `dir`, recursively, sorted (hidden files ignored, as the validators do). */
export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return []
  const out: string[] = []
  for (const e of fs.readdirSync(dir, {withFileTypes: true}).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (e.name.startsWith('.')) continue
    const p = path.join(dir, e.name)
    if (e.isDirectory()) out.push(...listFiles(p))
    else out.push(p)
  }
  return out
}

// ------------------------------------------------------------------ XML

interface XmlNode {
  name: string
  children: XmlNode[]
  text: string
}

/** A small well-formedness-checking XML parser (elements and text; no DTDs). Throws on bad XML. */
export function parseXml(src: string): XmlNode {
  let i = 0
  const line = () => src.slice(0, i).split('\n').length
  const fail = (msg: string): never => {
    throw new Error(`${msg}: line ${line()}, column ${i - src.lastIndexOf('\n', i - 1)}`)
  }
  const skipMisc = () => {
    for (;;) {
      const ws = /^\s*/.exec(src.slice(i))![0]
      i += ws.length
      if (src.startsWith('<?', i)) i = src.indexOf('?>', i) < 0 ? fail('unclosed token') : src.indexOf('?>', i) + 2
      else if (src.startsWith('<!--', i)) i = src.indexOf('-->', i) < 0 ? fail('unclosed token') : src.indexOf('-->', i) + 3
      else if (src.startsWith('<!DOCTYPE', i)) i = src.indexOf('>', i) + 1
      else return
    }
  }
  const element = (): XmlNode => {
    const m = /^<([A-Za-z_][\w.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/.exec(src.slice(i))
    if (!m) fail('not well-formed (invalid token)')
    i += m![0].length
    const node: XmlNode = {name: m![1], children: [], text: ''}
    if (m![3]) return node
    for (;;) {
      const lt = src.indexOf('<', i)
      if (lt < 0) fail('no element found')
      node.text += src.slice(i, lt)
      i = lt
      if (src.startsWith('</', i)) {
        const close = /^<\/([A-Za-z_][\w.-]*)\s*>/.exec(src.slice(i))
        if (!close || close[1] !== node.name) fail('mismatched tag')
        i += close![0].length
        node.text = node.text.trim()
        return node
      }
      if (src.startsWith('<!--', i)) {
        const end = src.indexOf('-->', i)
        if (end < 0) fail('unclosed token')
        i = end + 3
        continue
      }
      if (src.startsWith('<![CDATA[', i)) {
        const end = src.indexOf(']]>', i)
        if (end < 0) fail('unclosed CDATA section')
        node.text += src.slice(i + 9, end)
        i = end + 3
        continue
      }
      node.children.push(element())
    }
  }
  skipMisc()
  if (i >= src.length) fail('no element found')
  const root = element()
  skipMisc()
  if (i < src.length) fail('junk after document element')
  return root
}

const child = (n: XmlNode, name: string) => n.children.find((c) => c.name === name)

/** Pascal VOC XML Validator over `annotations/*.xml` (texts as in the goldens' objdet-bad-xml case). */
export function pascalVocErrors(annotationsDir: string): string[] {
  const errs: string[] = []
  for (const f of listFiles(annotationsDir).filter((x) => path.extname(x).toLowerCase() === '.xml')) {
    const name = path.basename(f)
    let root: XmlNode
    try {
      root = parseXml(fs.readFileSync(f, 'utf8'))
    } catch (e) {
      // ElementTree's ParseError text (e.g. "mismatched tag: line 3, column 2")
      errs.push(`${name}: XML parse error: ${(e as Error).message}`)
      continue
    }
    if (root.name !== 'annotation') {
      errs.push(`${name}: Root element must be 'annotation', found '${root.name}'`)
      continue
    }
    const missing = ['filename', 'size', 'source'].filter((k) => !child(root, k))
    if (missing.length) errs.push(`${name}: Missing required root elements: ${pyList(missing.sort())}`)
    if (!child(root, 'source')) errs.push(`${name}: Missing required 'source' element`)
    const size = child(root, 'size')
    if (!size) errs.push(`${name}: Missing required 'size' element`)
    else {
      for (const k of ['width', 'height']) {
        const v = Number(child(size, k)?.text)
        if (!child(size, k) || !Number.isInteger(v) || v <= 0) errs.push(`${name}: size/${k} must be a positive integer`)
      }
    }
    root.children.filter((c) => c.name === 'object').forEach((o, idx) => {
      if (!child(o, 'name')?.text) errs.push(`${name}: Object ${idx}: Missing 'name' element`)
      const box = child(o, 'bndbox')
      if (!box) {
        errs.push(`${name}: Object ${idx}: Missing 'bndbox' element`)
        return
      }
      const v: Record<string, number> = {}
      for (const k of ['xmin', 'ymin', 'xmax', 'ymax']) {
        const t = child(box, k)?.text
        v[k] = Number(t)
        if (t === undefined || t === '' || Number.isNaN(v[k])) errs.push(`${name}: Object ${idx}: '${k}' must be a number`)
      }
      if (v.xmin >= v.xmax) errs.push(`${name}: Object ${idx}: xmin (${v.xmin}) must be less than xmax (${v.xmax})`)
      if (v.ymin >= v.ymax) errs.push(`${name}: Object ${idx}: ymin (${v.ymin}) must be less than ymax (${v.ymax})`)
    })
  }
  return errs
}

// ------------------------------------------------------------------ pairing

/** File Pairing Validator: images ↔ annotations by plain stem (goldens objdet-missing/orphan-annotation). */
export function annotationPairingErrors(imagesDir: string, annotationsDir: string): string[] {
  const images = new Set(listFiles(imagesDir).map(stem))
  const anns = new Set(listFiles(annotationsDir).map(stem))
  const errs: string[] = []
  const lone = [...images].filter((s) => !anns.has(s)).sort()
  const orphan = [...anns].filter((s) => !images.has(s)).sort()
  if (lone.length) errs.push(`${lone.length} image(s) have no matching annotation: ${pyList(lone)}`)
  if (orphan.length) errs.push(`${orphan.length} annotation(s) have no matching image: ${pyList(orphan)}`)
  return errs
}

/** File Pairing Validator, semantic segmentation: `image_001.jpg` ↔ `image_001_mask.png` (goldens semseg-*). */
export function maskPairingErrors(imagesDir: string, masksDir: string): string[] {
  const images = new Set(listFiles(imagesDir).map(stem))
  const masks = listFiles(masksDir).map(stem)
  const paired = new Set(masks.filter((m) => m.endsWith('_mask')).map((m) => m.slice(0, -5)))
  const errs: string[] = []
  const lone = [...images].filter((s) => !paired.has(s)).sort()
  const orphan = masks.filter((m) => !(m.endsWith('_mask') && images.has(m.slice(0, -5)))).map((m) => (m.endsWith('_mask') ? m.slice(0, -5) : m)).sort()
  if (lone.length) errs.push(`${lone.length} image(s) have no matching mask: ${pyList(lone)}`)
  if (orphan.length) errs.push(`${orphan.length} mask(s) have no matching image: ${pyList(orphan)}`)
  return errs
}

// ------------------------------------------------------------------ keypoints

const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x)

/** Keypoint Annotation: `Annotation` is a JSON object name → [x, y] (Row numbers 1-based, goldens kp-bad-annotation). */
export function keypointAnnotationErrors(rows: Row[], expected: number | undefined): string[] {
  const errs: string[] = []
  rows.forEach((r, i) => {
    const row = `Row ${i + 1}`
    let a: unknown
    try {
      a = JSON.parse(r.Annotation ?? '')
    } catch {
      errs.push(`${row}: Invalid JSON in Annotation`)
      return
    }
    if (typeof a !== 'object' || a === null || Array.isArray(a)) {
      errs.push(`${row}: Annotation must be a JSON object mapping keypoint names to [x, y]`)
      return
    }
    const pts = Object.entries(a as Record<string, unknown>)
    for (const [k, p] of pts) {
      if (!Array.isArray(p) || p.length !== 2 || !p.every(isNum)) errs.push(`${row}: Keypoint '${k}' must be [x, y] with numeric coordinates`)
      else if (p[0] < 0 || p[1] < 0) errs.push(`${row}: Keypoint '${k}' has negative coordinates [${p[0]}, ${p[1]}]`)
    }
    if (expected !== undefined && pts.length !== expected) errs.push(`${row}: Expected ${expected} keypoints, found ${pts.length}`)
    const xy = pts.map(([, p]) => p).filter((p): p is number[] => Array.isArray(p) && p.length === 2 && p.every(isNum))
    if (xy.length > 0) {
      const xs = xy.map((p) => p[0])
      const ys = xy.map((p) => p[1])
      if (Math.max(...xs) <= Math.min(...xs) || Math.max(...ys) <= Math.min(...ys)) errs.push(`${row}: Keypoints form a degenerate bounding box (zero width or height)`)
    }
  })
  return errs
}

/** Keypoint Visibility: `Visibility` JSON of name → 0/1 with the same keys as a valid Annotation. */
export function keypointVisibilityErrors(rows: Row[]): string[] {
  const errs: string[] = []
  rows.forEach((r, i) => {
    const row = `Row ${i + 1}`
    let v: unknown
    try {
      v = JSON.parse(r.Visibility ?? '')
    } catch {
      errs.push(`${row}: Invalid JSON in Visibility`)
      return
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      errs.push(`${row}: Visibility must be a JSON object mapping keypoint names to 0 or 1`)
      return
    }
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (x !== 0 && x !== 1) errs.push(`${row}: Visibility of '${k}' must be 0 or 1, got ${JSON.stringify(x)}`)
    }
    let a: unknown
    try {
      a = JSON.parse(r.Annotation ?? '')
    } catch {
      return // reported by Keypoint Annotation
    }
    if (typeof a !== 'object' || a === null || Array.isArray(a)) return
    const ak = Object.keys(a).sort()
    const vk = Object.keys(v).sort()
    if (ak.join('\0') !== vk.join('\0')) errs.push(`${row}: Visibility keys ${pyList(vk)} do not match Annotation keys ${pyList(ak)}`)
  })
  return errs
}

// ------------------------------------------------------------------ text

const BIO_TAG = /^(O|[BI]-\S+)$/

/** BIO Label: one tag per whitespace word of the row's text file (Row numbers 0-based, goldens token-clf-*). */
export function bioErrors(rows: Row[], header: string[], labelColumn: string, textsDir: string, ext: string): string[] {
  const missing = ['filename', labelColumn].filter((c) => !header.includes(c))
  if (missing.length) return [`Missing required column(s): ${missing.join(', ')}`]
  const errs: string[] = []
  rows.forEach((r, i) => {
    const file = path.extname(r.filename) ? r.filename : `${r.filename}${ext}`
    const tags = (r[labelColumn] ?? '').split(/\s+/).filter(Boolean)
    const bad = tags.filter((t) => !BIO_TAG.test(t))
    if (bad.length) {
      // tag values are masked: only their shape is shown
      const shapes = bad.map((t) => t.replace(/[A-Za-z0-9]/g, 'x'))
      errs.push(`Row ${i} ('${file}'): ${bad.length} invalid BIO tag(s), masked shapes ${pyList(shapes)}; each tag must be 'O' or 'B-<TYPE>' / 'I-<TYPE>'.`)
      return
    }
    const p = path.join(textsDir, file)
    if (!fs.existsSync(p)) {
      errs.push(`Row ${i} ('${file}'): text file not found under 'texts/'.`)
      return
    }
    const words = fs.readFileSync(p, 'utf8').split(/\s+/).filter(Boolean).length
    if (words !== tags.length) errs.push(`Row ${i} ('${file}'): ${tags.length} BIO tag(s) for ${words} whitespace-separated word(s); each word needs exactly one tag.`)
  })
  return errs
}

/** Tokenizer Validator: the special tokens must be in model.vocab or added_tokens of tokenizer.json. */
export function tokenizerErrors(file: string, shown: string, required: boolean, category: string): string[] {
  if (!fs.existsSync(file)) return required ? [`tokenizer.json not found at ${shown} (required for ${category})`] : []
  let doc: {model?: {vocab?: Record<string, number> | [string, number][]}; added_tokens?: {content?: string}[]}
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch (e) {
    return [`tokenizer.json is not valid JSON: ${(e as Error).message}`]
  }
  const vocab = doc.model?.vocab
  const known = new Set<string>([
    ...(Array.isArray(vocab) ? vocab.map((v) => v[0]) : Object.keys(vocab ?? {})),
    ...(doc.added_tokens ?? []).map((t) => String(t.content)),
  ])
  const need = required ? ['[MASK]', '[PAD]'] : ['[PAD]']
  return need.filter((t) => !known.has(t)).map((t) => `Tokenizer is missing required special token ${t}`)
}

// ------------------------------------------------------------------ time series / time to event

const baseType = (t: string) => t.trim().toUpperCase().replace(/\(.*$/, '')

/** Time Format Validator: the schema has the exact key `timestamp`, of base type TIMESTAMP (goldens tsf-missing-timestamp). */
export function timeFormatErrors(schema: Record<string, string> | undefined): string[] {
  if (!schema || !('timestamp' in schema)) return ["Schema must contain a 'timestamp' column. For time series forecasting, a 'timestamp' column is required."]
  // wording quoted in di's examples/yaml/time_series_forecasting.yaml
  if (baseType(schema.timestamp) !== 'TIMESTAMP') return ["Timestamp column in schema must be of type 'TIMESTAMP'"]
  return []
}

const parseTime = (s: string): number => {
  const t = s.trim()
  // pandas reads "2024-01-01 00:00:00" and ISO forms; Date.parse needs the T for the former
  return Date.parse(/^\d{4}-\d\d-\d\d \d/.test(t) ? t.replace(' ', 'T') + (/[zZ]|[+-]\d\d:?\d\d$/.test(t) ? '' : 'Z') : t)
}

/** Time Ordered Validator: `timestamp` ascending (goldens tsf-unsorted-time, tsf-missing-timestamp). */
export function timeOrderedErrors(header: string[], rows: Row[]): string[] {
  if (!header.includes('timestamp')) return [`Required column 'timestamp' not found. Available: ${pyList(header)}`]
  const ts = rows.map((r) => parseTime(r.timestamp ?? ''))
  const bad = ts.filter((t) => Number.isNaN(t)).length
  if (bad) return [`Column 'timestamp' contains ${bad} value(s) that cannot be parsed as timestamps`]
  let pairs = 0
  for (let i = 1; i < ts.length; i++) if (ts[i] < ts[i - 1]) pairs++
  return pairs ? [`Found ${pairs} out-of-order timestamp pair(s)`] : []
}

/** Time Before Today Validator: no timestamp after today (UTC end of day). */
export function timeBeforeTodayErrors(header: string[], rows: Row[], now = new Date()): string[] {
  if (!header.includes('timestamp')) return [`Required column 'timestamp' not found. Available: ${pyList(header)}`]
  const endOfToday = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1)
  const future = rows.map((r, i) => [parseTime(r.timestamp ?? ''), i] as const).filter(([t]) => t >= endOfToday).map(([, i]) => i)
  return future.length ? [`Found ${future.length} timestamp(s) in the future at rows ${pyList(future.slice(0, 10))}. Timestamps must not be after today.`] : []
}

const numeric = (v: string | undefined) => v !== undefined && v.trim() !== '' && !Number.isNaN(Number(v))

/** Numeric Columns Validator: schema columns other than timestamp are numeric and non-null. */
export function numericColumnsErrors(schema: Record<string, string> | undefined, header: string[], rows: Row[]): string[] {
  const errs: string[] = []
  for (const col of Object.keys(schema ?? {}).filter((k) => k !== 'timestamp' && header.includes(k))) {
    const nulls = rows.filter((r) => (r[col] ?? '').trim() === '').length
    const nonNum = rows.filter((r) => (r[col] ?? '').trim() !== '' && !numeric(r[col])).length
    if (nulls) errs.push(`Column '${col}' contains ${nulls} null value(s)`)
    if (nonNum) errs.push(`Column '${col}' contains ${nonNum} non-numeric value(s)`)
  }
  return errs
}

/** Time to Event Validator: the time column (time_column, default `time`) exists, is numeric and ≥ 0 (goldens tte-negative-time). */
export function timeToEventErrors(column: string, header: string[], rows: Row[]): string[] {
  if (!header.includes(column)) return [`Time column '${column}' not found in dataset. Available columns: ${pyList(header)}`]
  const nonNum = rows.map((r, i) => [r[column], i] as const).filter(([v]) => !numeric(v)).map(([, i]) => i)
  if (nonNum.length) return [`Time column '${column}' contains ${nonNum.length} non-numeric or missing value(s) at rows ${pyList(nonNum.slice(0, 10))}. Time values must be numbers.`]
  const neg = rows.map((r, i) => [Number(r[column]), i] as const).filter(([v]) => v < 0).map(([, i]) => i)
  return neg.length ? [`Time column '${column}' contains ${neg.length} negative value(s) at rows ${pyList(neg.slice(0, 10))}. Time values must be non-negative.`] : []
}
