// KeypointAnnotation / KeypointVisibility previews (docs/protocol.md#ingestor-validators): Annotation is a JSON object
// name → [x, y] (numeric, non-negative, non-degenerate box, N points); Visibility name → 0|1, same keys.

/** Returns a short reason when the row is invalid, else null. */
export function checkKeypointRow(annotation: string, visibility: string, n: number): string | null {
  let ann: unknown
  try {
    ann = JSON.parse(annotation)
  } catch {
    return 'Annotation is not valid JSON'
  }
  if (!ann || typeof ann !== 'object' || Array.isArray(ann)) return 'Annotation is not a JSON object'
  const entries = Object.entries(ann as Record<string, unknown>)
  if (entries.length !== n) return `Annotation has ${entries.length} keypoints, expected ${n}`
  const xs: number[] = []
  const ys: number[] = []
  for (const [k, v] of entries) {
    if (!Array.isArray(v) || v.length !== 2 || !v.every((c) => typeof c === 'number' && Number.isFinite(c))) return `keypoint ${JSON.stringify(k)} is not [x, y]`
    if ((v[0] as number) < 0 || (v[1] as number) < 0) return `keypoint ${JSON.stringify(k)} is negative`
    xs.push(v[0] as number)
    ys.push(v[1] as number)
  }
  if (n > 1 && (Math.max(...xs) === Math.min(...xs) || Math.max(...ys) === Math.min(...ys))) return 'keypoints span a zero-width or zero-height box'
  let vis: unknown
  try {
    vis = JSON.parse(visibility)
  } catch {
    return 'Visibility is not valid JSON'
  }
  if (!vis || typeof vis !== 'object' || Array.isArray(vis)) return 'Visibility is not a JSON object'
  const vk = Object.keys(vis as object)
  const ak = new Set(entries.map(([k]) => k))
  if (vk.length !== ak.size || !vk.every((k) => ak.has(k))) return 'Visibility keys differ from Annotation keys'
  for (const [k, v] of Object.entries(vis as Record<string, unknown>)) if (v !== 0 && v !== 1) return `Visibility of ${JSON.stringify(k)} is not 0 or 1`
  return null
}
