// `dataset push` records each submitted run in the recent-run cache (best effort, never fails a push).
import {isoSeconds} from '../output/format.js'
import {RecentRun, RecentRuns} from './cache.js'

/** A run just submitted: what the cache keeps of it, the time of recording added here. */
export type SubmittedRun = Omit<RecentRun, 'submitted_at' | 'cancelled_at'>

export function rememberRun(cacheDir: string, run: SubmittedRun): void {
  const cache = RecentRuns.load(cacheDir, run.cluster)
  cache.record({...run, submitted_at: isoSeconds()})
  cache.save()
}
