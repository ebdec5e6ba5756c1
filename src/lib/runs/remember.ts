// `dataset push` records each submitted run in the recent-run cache (best effort, never fails a push).
import type {PushContext} from '../pipeline/push.js'
import {RecentRuns} from './cache.js'

export function rememberRun(cacheDir: string, ctx: PushContext): void {
  if (!ctx.submit || !ctx.target) return
  const cache = RecentRuns.load(cacheDir)
  cache.record({
    key: ctx.idempotencyKey,
    table: ctx.plan?.table ?? '',
    namespace: ctx.submit.namespace,
    context: ctx.target.context,
    job_name: ctx.submit.jobName,
    category: ctx.plan?.category,
    intent: ctx.plan?.intent,
    submitted_at: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
  })
  cache.save()
}
