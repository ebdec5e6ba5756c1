import type {CategoryInfo} from '../categories.js'
import type {Layout} from '../layout.js'
import type {Problems} from '../problems.js'

export interface ResolvedOptions {
  labelColumn?: string
  targetSize?: [number, number]
  minSize?: [number, number]
  schema?: Record<string, string>
  labelPolicy: 'passthrough' | 'bucket'
  timeColumn?: string
  numberOfKeypoints?: number
  onProgress?: (p: {phase: string; files?: number; bytes?: number}) => void
}

export interface FamilyContext {
  cat: CategoryInfo
  layout: Layout
  opts: ResolvedOptions
  problems: Problems
  warnings: string[]
  details: Record<string, unknown>
}

/** What a family's preflight resolved, for config synthesis. */
export interface FamilyResult {
  rows: number
  /** Rows that differ in content: identical rows become one record in the table (they share a data_id). */
  distinctRows?: number
  /** The label column as it appears in the CSV header (undefined when the task has none). */
  label?: string
  extension?: string
  targetSize?: [number, number]
  schema?: Record<string, string>
}
