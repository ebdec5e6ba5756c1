// What a human sees when a push ends: the dry-run plan, the detached note, or the outcome panel.
import {humanBytes} from '../output/format.js'
import {style} from '../output/style.js'
import {failureLines, outcomePanel} from '../watch/panel.js'
import type {PushContext, PushOptions} from './context.js'
import type {PushJson} from './document.js'
import {dryRunLines, sampleLines} from './plan.js'

export function pushPanel(ctx: PushContext, o: PushOptions, doc: PushJson): string[] {
  const plan = ctx.plan!
  if (o.dryRun) {
    return [
      '',
      style.bold('Plan (dry run — nothing was written)'),
      ctx.release ? `  target     context ${ctx.target?.context}, namespace ${ctx.release.namespace}, release ${ctx.release.release} (chart ${ctx.release.chartVersion})` : '  target     (no cluster reachable)',
      ...(ctx.identity ? [`  cluster    kube-system UID ${ctx.identity.uid} (${ctx.identity.server})`] : []),
      ...(ctx.remote ? remotePlanLines(ctx) : []),
      `  files      ${plan.files.length} (${humanBytes(plan.totalBytes)}) → ${plan.stagingPrefix}/`,
      `  rows       ${plan.rows}`,
      '  ingest config:',
      ...plan.configYaml.trimEnd().split('\n').map((l) => `    ${l}`),
      ...dryRunLines(ctx.dryRunPlan),
      ...sampleLines(plan.sample, o.fullPushCommand),
    ]
  }
  const key = `  idempotency key ${ctx.idempotencyKey}`
  if (o.detach) {
    return [`\n${style.green('✔')} Submitted — the ingestion runs in your cluster.`, `  job ${ctx.submit?.jobName} in ${ctx.submit?.namespace}`, key, `  Follow it: ${doc.follow_command}`, ...sampleLines(plan.sample, o.fullPushCommand)]
  }
  const lines = ['', ...outcomePanel(doc.status, ctx.watch?.summary), `  table ${plan.table} · job ${ctx.submit?.jobName} · namespace ${ctx.submit?.namespace}`, key, ...sampleLines(plan.sample, o.fullPushCommand)]
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

/** Where a remote dataset comes from and which checks ran on every object, which on a sample. */
function remotePlanLines(ctx: PushContext): string[] {
  const r = ctx.remote!
  return [
    `  source     ${r.display} (read here: ${humanBytes(r.bytesRead)}; the stage pod pulls the rest from the store)`,
    `  checked    every object: ${r.checks.everyObject.join(', ')}`,
    ...(r.checks.sampled.length ? [`  sampled    ${r.checks.sampled.join(', ')}: ${r.checks.sampleSize} of ${r.checks.images} images; every object is verified against the store in the pod and read by the ingestor`] : []),
  ]
}
