// Pascal VOC annotation preview (PascalVOCXMLValidator): well-formed XML, root <annotation> with
// <source> and <size>, every <object> with a <bndbox> where xmin < xmax and ymin < ymax.
// A small non-validating parser is enough: VOC files carry no DTDs or namespaces.

interface El {
  name: string
  children: El[]
  text: string
}

function parseXml(src: string): El {
  let i = 0
  const root: El = {name: '#doc', children: [], text: ''}
  const stack: El[] = [root]
  while (i < src.length) {
    const lt = src.indexOf('<', i)
    if (lt < 0) { stack.at(-1)!.text += src.slice(i); break }
    stack.at(-1)!.text += src.slice(i, lt)
    if (src.startsWith('<?', lt)) { const e = src.indexOf('?>', lt); if (e < 0) throw new Error('unterminated <?'); i = e + 2; continue }
    if (src.startsWith('<!--', lt)) { const e = src.indexOf('-->', lt); if (e < 0) throw new Error('unterminated comment'); i = e + 3; continue }
    if (src.startsWith('<![CDATA[', lt)) { const e = src.indexOf(']]>', lt); if (e < 0) throw new Error('unterminated CDATA'); stack.at(-1)!.text += src.slice(lt + 9, e); i = e + 3; continue }
    if (src.startsWith('<!', lt)) { const e = src.indexOf('>', lt); if (e < 0) throw new Error('unterminated declaration'); i = e + 1; continue }
    const gt = src.indexOf('>', lt)
    if (gt < 0) throw new Error('unterminated tag')
    const body = src.slice(lt + 1, gt)
    i = gt + 1
    if (body.startsWith('/')) {
      const name = body.slice(1).trim()
      const top = stack.pop()
      if (!top || top.name !== name || stack.length === 0) throw new Error(`mismatched closing tag </${name}>`)
      continue
    }
    const selfClose = body.endsWith('/')
    const m = /^([A-Za-z_][\w.-]*)/.exec(body)
    if (!m) throw new Error('invalid tag name')
    const el: El = {name: m[1]!, children: [], text: ''}
    stack.at(-1)!.children.push(el)
    if (!selfClose) stack.push(el)
  }
  if (stack.length !== 1) throw new Error(`unclosed <${stack.at(-1)!.name}>`)
  const tops = root.children
  if (tops.length !== 1) throw new Error('expected exactly one root element')
  if (root.text.trim() !== '') throw new Error('text outside the root element')
  return tops[0]!
}

const child = (e: El, n: string): El | undefined => e.children.find((c) => c.name === n)

/** Problems in one VOC file (empty = fine). */
export function vocProblems(xml: string): string[] {
  let root: El
  try {
    root = parseXml(xml)
  } catch (err) {
    return [`not well-formed XML (${(err as Error).message})`]
  }
  if (root.name !== 'annotation') return [`root element is <${root.name}>, expected <annotation>`]
  const out: string[] = []
  const missing = ['size', 'source'].filter((n) => !child(root, n))
  if (missing.length > 0) out.push(`missing required element(s): ${missing.map((n) => `<${n}>`).join(', ')}`)
  const size = child(root, 'size')
  if (size) {
    for (const d of ['width', 'height']) {
      const v = Number(child(size, d)?.text.trim())
      if (!Number.isFinite(v) || v <= 0) out.push(`<size><${d}> is not a positive number`)
    }
  }
  root.children.filter((c) => c.name === 'object').forEach((o, k) => {
    const bb = child(o, 'bndbox')
    if (!bb) { out.push(`object ${k} has no <bndbox>`); return }
    const v = Object.fromEntries(['xmin', 'ymin', 'xmax', 'ymax'].map((n) => [n, Number(child(bb, n)?.text.trim())]))
    if (Object.values(v).some((x) => !Number.isFinite(x))) { out.push(`object ${k}: bndbox needs numeric xmin, ymin, xmax, ymax`); return }
    if (v.xmin! >= v.xmax!) out.push(`object ${k}: xmin (${v.xmin}) must be less than xmax (${v.xmax})`)
    if (v.ymin! >= v.ymax!) out.push(`object ${k}: ymin (${v.ymin}) must be less than ymax (${v.ymax})`)
  })
  return out
}
