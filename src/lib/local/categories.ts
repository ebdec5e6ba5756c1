// The 16 task categories of the newer ingest schema (ingest.v1.json enum), with what each needs on
// disk (layout.v1.json) and which push flags apply to it (docs/protocol.md#task-flags).
export type Family = 'image' | 'text' | 'tabular'

export interface CategoryInfo {
  name: string
  family: Family
  blurb: string
  /** Sidecar folder holding the files the CSV's `filename` column references (null for tabular). */
  primarySubdir: 'images' | 'texts' | 'sequences' | null
  /** Extra required sidecar folders: annotations (*.xml) for detection, masks (*.png) for segmentation. */
  sidecars: ReadonlyArray<{subdir: 'annotations' | 'masks'; exts: readonly string[]}>
  /** How `label` is written into the config: a column name, {column, policy}, or not at all. */
  labelForm: 'string' | 'object' | 'none'
  /** Needs at least two distinct label values (LabelDiversityValidator). */
  classification: boolean
  /** Tab-separated record format of each referenced text file, when the ingestor enforces it. */
  recordFields?: {min: number; max: number; names: string}
  /** Grouped time series: rows belong to sequences. */
  grouping?: {groupColumn: string; timeColumn: string}
}

const img = (name: string, blurb: string, sidecars: CategoryInfo['sidecars'] = []): CategoryInfo => ({
  name, family: 'image', blurb, primarySubdir: 'images', sidecars, labelForm: 'string', classification: false,
})
const txt = (name: string, blurb: string, extra: Partial<CategoryInfo> = {}): CategoryInfo => ({
  name, family: 'text', blurb, primarySubdir: 'texts', sidecars: [], labelForm: 'none', classification: false, ...extra,
})
const tab = (name: string, blurb: string, extra: Partial<CategoryInfo> = {}): CategoryInfo => ({
  name, family: 'tabular', blurb, primarySubdir: null, sidecars: [], labelForm: 'string', classification: false, ...extra,
})

const LIST: CategoryInfo[] = [
  {...img('image_classification', 'one label per image'), classification: true},
  img('object_detection', 'bounding boxes per image (Pascal VOC XML in annotations/)', [{subdir: 'annotations', exts: ['.xml']}]),
  img('keypoint_detection', 'named keypoints per image (Annotation/Visibility JSON columns)'),
  img('semantic_segmentation', 'a PNG mask per image (masks/<stem>_mask.png)', [{subdir: 'masks', exts: ['.png']}]),
  txt('text_classification', 'one label per text file', {labelForm: 'string', classification: true}),
  txt('token_classification', 'BIO tags per word of each text file', {labelForm: 'string'}),
  txt('sentence_pair_classification', 'a label per text_a<TAB>text_b pair', {labelForm: 'string', classification: true, recordFields: {min: 2, max: 2, names: 'text_a<TAB>text_b'}}),
  txt('masked_language_modeling', 'self-supervised on sequences/ (needs tokenizer.json)', {primarySubdir: 'sequences'}),
  txt('causal_language_modeling', 'self-supervised free text or prompt<TAB>completion'),
  txt('seq2seq', 'source<TAB>target pairs'),
  txt('embeddings', 'anchor<TAB>positive[<TAB>negative] records', {recordFields: {min: 2, max: 3, names: 'anchor<TAB>positive or anchor<TAB>positive<TAB>negative'}}),
  tab('tabular_classification', 'predict a class from table columns', {classification: true}),
  tab('tabular_regression', 'predict a number from table columns', {labelForm: 'object'}),
  tab('time_series_forecasting', 'predict future values from a timestamp-ordered table', {labelForm: 'object'}),
  tab('time_series_classification', 'one label per sequence of timestep rows', {classification: true, grouping: {groupColumn: 'sequence_id', timeColumn: 'timestamp'}}),
  tab('time_to_event_prediction', 'survival analysis: time until an event', {labelForm: 'object'}),
]

export const REGISTRY: ReadonlyMap<string, CategoryInfo> = new Map(LIST.map((c) => [c.name, c]))
export const CATEGORIES: readonly string[] = LIST.map((c) => c.name)

export function categoriesOf(family: Family): string[] {
  return LIST.filter((c) => c.family === family).map((c) => c.name)
}

/** Push flags scoped to some categories (the option names of PlanOptions). */
export const SCOPED_FLAGS = ['targetSize', 'minSize', 'schema', 'labelPolicy', 'timeColumn', 'numberOfKeypoints', 'labelColumn'] as const

/** Accepts both the PlanOptions name (`targetSize`) and the CLI flag (`--target-size`). */
export function flagAppliesTo(flag: string, category: string): boolean {
  const c = REGISTRY.get(category)
  if (!c) return false
  const key = flag.replace(/^--/, '').replace(/-([a-z])/g, (_m, ch: string) => ch.toUpperCase())
  switch (key) {
    case 'targetSize':
    case 'minSize':
      return c.family === 'image'
    case 'schema':
      return c.family === 'tabular'
    case 'labelPolicy':
      return c.labelForm === 'object'
    case 'timeColumn':
      return c.name === 'time_to_event_prediction'
    case 'numberOfKeypoints':
      return c.name === 'keypoint_detection'
    case 'labelColumn':
      return c.labelForm !== 'none' || !['masked_language_modeling', 'causal_language_modeling', 'seq2seq', 'embeddings'].includes(c.name)
    default:
      return true
  }
}

export function flagName(key: string): string {
  return '--' + key.replace(/[A-Z]/g, (m) => '-' + m.toLowerCase())
}
