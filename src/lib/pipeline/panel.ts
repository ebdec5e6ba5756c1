// What a human sees when a push ends: the dry-run plan, the detached note, or the outcome panel.
import {removalLine} from '../catalog/guard.js'
import {count, humanBytes, plural} from '../output/format.js'
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
      `  files      ${count(plan.files.length)} (${humanBytes(plan.totalBytes)}) → ${plan.stagingPrefix}/`,
      `  rows       ${count(plan.rows)}`,
      ...planLines(ctx, o).map((l) => `  ${style.yellow('!')} ${l}`),
      '  ingest config:',
      ...plan.configYaml.trimEnd().split('\n').map((l) => `    ${l}`),
      ...dryRunLines(ctx.dryRunPlan),
      ...sampleLines(plan.sample, o.fullPushCommand),
    ]
  }
  const kv = (k: string, v: string) => `  ${k.padEnd(15)}  ${v}`
  if (o.detach) {
    return [`\n${style.green('✔')} Submitted — the ingestion runs in your cluster.`, kv('job', `${ctx.submit?.jobName} in namespace ${ctx.submit?.namespace}`), kv('idempotency key', ctx.idempotencyKey), kv('follow it', doc.follow_command ?? ''), ...sampleLines(plan.sample, o.fullPushCommand)]
  }
  const lines = ['', ...outcomePanel(doc.status, ctx.watch?.summary, ctx.recordsInTable), kv('table', plan.table), kv('job', `${ctx.submit?.jobName} in namespace ${ctx.submit?.namespace}`), kv('idempotency key', ctx.idempotencyKey), ...sampleLines(plan.sample, o.fullPushCommand)]
  if (doc.status !== 'succeeded') {
    // The error quotes the ingestor's reason: shown once, with its last log lines.
    lines.push(...failureLines(ctx.watch?.failureLines ?? [], doc.error))
    if (doc.follow_command && doc.status !== 'failed' && doc.status !== 'completed_with_failures') lines.push(`  ${style.dim('→')} re-attach: ${doc.follow_command}`)
    lines.push(`  ${style.dim('→')} logs: ${doc.follow_command ?? `kubectl logs -n ${ctx.submit?.namespace} job/${ctx.submit?.jobName}`}`)
    // the last line: the same push again (a failed run's empty table does not block it)
    if (doc.status !== 'unknown') lines.push(`  ${style.dim('→')} fix the cause above, then retry: ${retryCommand(o, plan.category)}`)
  } else if (ctx.reclaimed) {
    lines.push(`  staged copy reclaimed from client-pvc`)
  }
  return lines
}

/** The push as typed again: the same data, table and choices (no --idempotency-key: a retry is a new run). */
export function retryCommand(o: PushOptions, category?: string): string {
  const p = o.plan
  const args = ['tracebloc', 'dataset', 'push', p.path, '--table', p.table]
  const add = (flag: string, v: string | number | undefined) => v !== undefined && args.push(flag, String(v))
  add('--category', p.category ?? category)
  if (p.intent && p.intent !== 'train') add('--intent', p.intent)
  add('--label-column', p.labelColumn)
  add('--bwlimit', o.bwlimit === undefined ? undefined : `${o.bwlimit}B`)
  add('--target-size', p.targetSize?.join('x'))
  add('--min-size', p.minSize?.join('x'))
  add('--schema', p.schema ? Object.entries(p.schema).map(([c, t]) => `${c}:${t}`).join(',') : undefined)
  add('--label-policy', p.labelPolicy)
  add('--time-column', p.timeColumn)
  add('--number-of-keypoints', p.numberOfKeypoints)
  add('--kubeconfig', o.cluster.kubeconfig)
  add('--context', o.cluster.context)
  add('--namespace', o.cluster.namespace)
  return args.map(shellWord).join(' ')
}

const shellWord = (w: string) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)

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

/** Where a remote dataset comes from and which checks ran on every object, which on a sample. */
function remotePlanLines(ctx: PushContext): string[] {
  const r = ctx.remote!
  return [
    `  source     ${r.display} (read here: ${humanBytes(r.bytesRead)}; the stage pod pulls the rest from the store)`,
    `  checked    every object: ${r.checks.everyObject.join(', ')}`,
    ...(r.checks.sampled.length ? [`  sampled    ${r.checks.sampled.join(', ')}: ${r.checks.sampleSize} of ${r.checks.images} images; every object is verified against the store in the pod and read by the ingestor`] : []),
  ]
}
