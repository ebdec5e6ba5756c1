// What a human sees when a push ends: the dry-run plan, the detached note, or the outcome panel.
import {removalLine} from '../catalog/guard.js'
import {count, humanBytes, plural} from '../output/format.js'
import {style} from '../output/style.js'
import {failureLines, outcomePanel} from '../watch/panel.js'
import type {PushContext, PushOptions} from './context.js'
import type {PushJson} from './document.js'

export function pushPanel(ctx: PushContext, o: PushOptions, doc: PushJson): string[] {
  const plan = ctx.plan!
  if (o.dryRun) {
    return [
      '',
      style.bold('Plan (dry run — nothing was written)'),
      `  target     context ${ctx.target?.context}, namespace ${ctx.release?.namespace}, release ${ctx.release?.release} (chart ${ctx.release?.chartVersion})`,
      ...(ctx.identity ? [`  cluster    kube-system UID ${ctx.identity.uid} (${ctx.identity.server})`] : []),
      `  files      ${count(plan.files.length)} (${humanBytes(plan.totalBytes)}) → ${plan.stagingPrefix}/`,
      `  rows       ${count(plan.rows)}`,
      ...planLines(ctx, o).map((l) => `  ${style.yellow('!')} ${l}`),
      '  ingest config:',
      ...plan.configYaml.trimEnd().split('\n').map((l) => `    ${l}`),
    ]
  }
  const key = `  idempotency key ${ctx.idempotencyKey}`
  if (o.detach) {
    return [`\n${style.green('✔')} Submitted — the ingestion runs in your cluster.`, `  job ${ctx.submit?.jobName} in ${ctx.submit?.namespace}`, key, `  Follow it: ${doc.follow_command}`]
  }
  const lines = ['', ...outcomePanel(doc.status, ctx.watch?.summary), `  table ${plan.table} · job ${ctx.submit?.jobName} · namespace ${ctx.submit?.namespace}`, key]
  if (doc.status !== 'succeeded') {
    // The error quotes the ingestor's reason: shown once, with its last log lines.
    lines.push(...failureLines(ctx.watch?.failureLines ?? [], doc.error))
    if (doc.follow_command && doc.status !== 'failed' && doc.status !== 'completed_with_failures') lines.push(`  ${style.dim('→')} re-attach: ${doc.follow_command}`)
    lines.push(`  ${style.dim('→')} logs: kubectl logs -n ${ctx.submit?.namespace} job/${ctx.submit?.jobName}`)
  } else if (ctx.reclaimed) {
    lines.push(`  staged copy reclaimed from client-pvc`)
  }
  return lines
}

/**
 * Everything the push will drop, infer, skip, merge or remove, one line each: shown by the plan step
 * before any byte moves, and in the --dry-run plan. Other additions to the plan belong here too.
 */
export function planLines(ctx: PushContext, o: Pick<PushOptions, 'dryRun'>): string[] {
  const plan = ctx.plan!
  const lines = [...plan.warnings]
  const distinct = plan.distinctRows
  if (distinct !== undefined && distinct < plan.rows) {
    lines.push(`${plural(plan.rows, 'row')} make ${plural(distinct, 'distinct record')}: ${plural(plan.rows - distinct, 'row repeats', 'rows repeat')} an earlier row and merge into its record`)
  }
  const removal = ctx.destination?.removal
  if (removal) lines.push(removalLine(removal, o.dryRun))
  return lines
}
