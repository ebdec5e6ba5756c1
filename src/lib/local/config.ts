// Ingest-config synthesis, exactly as the Go CLI (docs/protocol.md#config-synthesis): paths under the staging prefix, directory
// fields ending in '/', [W,H] order, label forms per task, keypoint fields at the top level.
import {stagingPrefix} from '../pvc/paths.js'
import type {CategoryInfo} from './categories.js'
import type {FamilyResult, ResolvedOptions} from './families/types.js'

export {stagingPrefix} from '../pvc/paths.js'

export function synthesizeConfig(cat: CategoryInfo, table: string, intent: 'train' | 'test', r: FamilyResult, o: ResolvedOptions): Record<string, unknown> {
  const P = stagingPrefix(table)
  const cfg: Record<string, unknown> = {apiVersion: 'tracebloc.io/v1', kind: 'IngestConfig', category: cat.name, table, intent, csv: `${P}/labels.csv`}
  if (cat.primarySubdir) cfg[cat.primarySubdir] = `${P}/${cat.primarySubdir}/`
  for (const s of cat.sidecars) cfg[s.subdir] = `${P}/${s.subdir}/`

  if (cat.family === 'tabular') cfg.schema = r.schema
  if (cat.name === 'semantic_segmentation') cfg.schema = {mask_id: 'VARCHAR(255)'}

  if (cat.labelForm === 'string' && r.label) cfg.label = r.label
  if (cat.labelForm === 'object' && r.label) cfg.label = {column: r.label, policy: o.labelPolicy}
  if (cat.name === 'time_to_event_prediction' && o.timeColumn) cfg.time_column = o.timeColumn

  if (cat.family === 'image') {
    const fo: Record<string, unknown> = {extension: r.extension}
    if (cat.name === 'keypoint_detection') {
      cfg.target_size = r.targetSize
      cfg.number_of_keypoints = o.numberOfKeypoints
    } else {
      fo.target_size = r.targetSize
    }
    if (o.minSize) fo.min_size = o.minSize
    cfg.spec = {file_options: fo}
  }
  return cfg
}
