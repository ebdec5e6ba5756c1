import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../lib/command/base.js'
import {parseSchemaFlag, parseSize} from '../../lib/dataset/flags.js'
import {clusterFlags, envMs} from '../../lib/command/cluster-flags.js'
import {trapSignals} from '../../lib/command/signals.js'
import {CliError, ExitCode, isCliError} from '../../lib/output/errors.js'
import {style} from '../../lib/output/style.js'
import {humanBytes} from '../../lib/pipeline/format.js'
import {classify, cleanupPush, initialContext, PushContext, PushOptions, PushStatus, reclaimStaging, runPush, summaryJson, WatchOutcomeShown} from '../../lib/pipeline/push.js'
import {DEFAULT_STAGE_IMAGE} from '../../lib/staging/stage-pod.js'
import {MAX_STREAMS} from '../../lib/staging/parallelism.js'
import {CompressMode, DEFAULT_PARALLEL} from '../../lib/staging/stream.js'
import {IDEMPOTENCY_KEY_RE, IMAGE_DIGEST_RE} from '../../lib/submit/submit.js'

export interface PushJson {
  status: PushStatus
  table?: string
  category?: string
  intent?: string
  namespace?: string
  release?: string
  idempotency_key: string
  job_name?: string
  replay?: boolean
  ingest_config?: Record<string, unknown>
  files?: number
  bytes?: number
  staged?: {
    files: number
    bytes: number
    seconds: number
    retries: number
    skipped_files: number
    skipped_bytes: number
    sent_files: number
    sent_bytes: number
    wire_bytes: number
    resent_files: number
    resumed_bytes: number
    parallel: number
    compressed: boolean
    swapped: boolean
  }
  summary?: ReturnType<typeof summaryJson>
  staging_reclaimed?: boolean
  warnings: string[]
  timings: Record<string, number>
  exit_code: number
  error?: string
  reason?: string
  hint?: string
}

export default class DatasetPush extends BaseCommand<typeof DatasetPush> {
  static summary = 'Push a local dataset into your tracebloc client and ingest it'
  static description =
    'Validates the dataset locally, connects to the tracebloc client release in your cluster, copies the files into ' +
    'the shared PVC through an ephemeral pod, submits the ingestion to jobs-manager and follows the ingestor to its summary.'
  static aliases = ['ingest']
  static examples = [
    '<%= config.bin %> dataset push ./my-data --table cats_dogs_train --category image_classification --label-column label',
    '<%= config.bin %> ingest ./my-data --table cats_dogs_train --category image_classification --label-column label --dry-run',
  ]
  static args = {path: Args.string({description: 'Dataset folder (or CSV file for tabular data)', required: true})}
  static flags = {
    table: Flags.string({description: 'Destination table name ([A-Za-z_][A-Za-z0-9_]*, ≤ 63 chars)', aliases: ['name'], required: true}),
    category: Flags.string({description: 'Task category, e.g. image_classification (detected when omitted)', aliases: ['task']}),
    intent: Flags.string({description: 'Dataset intent', options: ['train', 'test'], default: 'train'}),
    'label-column': Flags.string({description: 'CSV column holding the label'}),
    'target-size': Flags.string({description: 'Image size WxH (default: read from the images)'}),
    'min-size': Flags.string({description: 'Minimum image size WxH'}),
    schema: Flags.string({description: 'Tabular column types col:TYPE,… (default: inferred)'}),
    'label-policy': Flags.string({description: 'Label policy for regression-like tasks', options: ['passthrough', 'bucket']}),
    'time-column': Flags.string({description: 'Time column (time_to_event_prediction)'}),
    'number-of-keypoints': Flags.integer({description: 'Keypoints per instance (keypoint_detection)', min: 1}),
    ...clusterFlags,
    'idempotency-key': Flags.string({description: 'Reuse a key to attach to an earlier run instead of starting a new one'}),
    'image-digest': Flags.string({description: 'Pin the ingestor image: sha256:<64 hex>'}),
    'stage-image': Flags.string({description: 'Image for the stage pod (needs sh, tar, gzip, head, dd, md5sum, awk, sed, grep, cat, cp, ln, mv, rm, mkdir, rmdir, touch, find, stat, printf; busybox has them all)', default: DEFAULT_STAGE_IMAGE}),
    detach: Flags.boolean({description: 'Return after submitting; the ingestion continues in the cluster'}),
    'dry-run': Flags.boolean({description: 'Print the plan (ingest config, files, bytes, cluster target) without writing anything'}),
    'clean-orphans': Flags.boolean({description: 'Delete stage pods left behind by crashed runs'}),
    parallel: Flags.integer({description: `Parallel copy streams (exec connections) into the stage pod [default: measured, from ${DEFAULT_PARALLEL} up to ${MAX_STREAMS}]`, min: 1, max: 16}),
    compress: Flags.string({description: 'Gzip copy streams: auto = text/CSV files only (on exec v5 servers), on = everything, off = never', options: ['auto', 'on', 'off'], default: 'auto'}),
  }

  async run(): Promise<PushJson> {
    const f = this.flags
    if (f['idempotency-key'] !== undefined && !IDEMPOTENCY_KEY_RE.test(f['idempotency-key'])) {
      throw new CliError('--idempotency-key must be a valid label value: ≤ 63 chars of [A-Za-z0-9._-], starting and ending alphanumeric', {exitCode: ExitCode.BAD_INPUT, reason: 'bad_flag'})
    }
    if (f['image-digest'] !== undefined && !IMAGE_DIGEST_RE.test(f['image-digest'])) {
      throw new CliError(`--image-digest must be sha256:<64 lowercase hex>, got "${f['image-digest']}" (tags are not accepted)`, {exitCode: ExitCode.BAD_INPUT, reason: 'bad_flag'})
    }
    const sig = trapSignals()
    const opts: PushOptions = {
      plan: {
        path: this.args.path,
        table: f.table,
        category: f.category,
        intent: f.intent as 'train' | 'test',
        labelColumn: f['label-column'],
        targetSize: f['target-size'] === undefined ? undefined : parseSize(f['target-size']),
        minSize: f['min-size'] === undefined ? undefined : parseSize(f['min-size'], '--min-size'),
        schema: f.schema === undefined ? undefined : parseSchemaFlag(f.schema),
        labelPolicy: f['label-policy'] as 'passthrough' | 'bucket' | undefined,
        timeColumn: f['time-column'],
        numberOfKeypoints: f['number-of-keypoints'],
        interactive: Boolean(process.stdin.isTTY && process.stdout.isTTY) && !this.jsonEnabled(),
      },
      cluster: {kubeconfig: f.kubeconfig, context: f.context, namespace: f.namespace},
      idempotencyKey: f['idempotency-key'],
      imageDigest: f['image-digest'],
      stageImage: f['stage-image'],
      detach: f.detach,
      dryRun: f['dry-run'],
      json: this.jsonEnabled(),
      cleanOrphans: f['clean-orphans'],
      signal: sig.signal,
      // a pseudo-terminal without a size (some CI runners) renders the live list one char per line: use plain lines
      tty: Boolean(process.stdout.isTTY) && (process.stdout.columns ?? 0) >= 20,
      podReadyTimeoutMs: envMs('TRACEBLOC_STAGE_POD_TIMEOUT', 120),
      podStartTimeoutMs: envMs('TRACEBLOC_POD_START_TIMEOUT', 300),
      parallel: f.parallel,
      compress: f.compress as CompressMode,
    }
    const ctx = initialContext(opts)
    const log = {line: (s: string) => this.note(s), warn: (s: string) => this.warnLine(s)}
    let failure: unknown
    try {
      await runPush(opts, ctx, log)
    } catch (error) {
      if (!(error instanceof WatchOutcomeShown) || sig.signal.aborted) failure = sig.signal.aborted ? sig.signal.reason : error
    } finally {
      await cleanupPush(ctx)
      sig.release()
    }

    if (failure) {
      // Interrupted after the submit: the run continues in the cluster — we only stopped watching.
      if (sig.interruptedBy() && ctx.submit) {
        const doc = this.document(ctx, opts, {status: 'detached', exitCode: ExitCode.INTERRUPTED, error: 'stopped watching; the ingestion keeps running in the cluster'})
        this.note(`\nStopped watching — the ingestion keeps running in your cluster.\n  Follow it: kubectl logs -f -n ${ctx.submit.namespace} job/${ctx.submit.jobName}`)
        process.exitCode = ExitCode.INTERRUPTED
        return doc
      }
      const err = isCliError(failure) ? failure : new CliError((failure as Error)?.message ?? String(failure), {exitCode: ExitCode.GENERIC, cause: failure})
      if (this.jsonEnabled()) {
        process.exitCode = err.exitCode
        return this.document(ctx, opts, {status: err.exitCode === ExitCode.INTERRUPTED ? 'interrupted' : 'error', exitCode: err.exitCode, error: err.message, reason: err.reason, hint: err.hint})
      }
      throw err
    }

    const outcome = classify(ctx, opts)
    if (outcome.status === 'succeeded') {
      ctx.reclaimed = await reclaimStaging(ctx, opts.stageImage, opts.podReadyTimeoutMs)
      if (!ctx.reclaimed) this.warnLine(`couldn't reclaim the staged copy; it is harmless and the next push of "${ctx.plan!.table}" replaces it`)
    }
    const doc = this.document(ctx, opts, outcome)
    this.renderPanel(ctx, opts, doc)
    process.exitCode = outcome.exitCode
    return doc
  }

  private document(ctx: PushContext, o: PushOptions, out: {status: PushStatus; exitCode: number; error?: string; reason?: string; hint?: string}): PushJson {
    const plan = ctx.plan
    return {
      status: out.status,
      table: plan?.table ?? o.plan.table,
      category: plan?.category ?? o.plan.category,
      intent: plan?.intent ?? o.plan.intent,
      namespace: ctx.release?.namespace,
      release: ctx.release?.release,
      idempotency_key: ctx.idempotencyKey,
      job_name: ctx.submit?.jobName,
      replay: ctx.submit?.replay,
      ingest_config: o.dryRun ? plan?.config : undefined,
      files: plan?.files.length,
      bytes: plan?.totalBytes,
      staged: ctx.staged
        ? {
            files: ctx.staged.files,
            bytes: ctx.staged.bytes,
            seconds: ctx.staged.seconds,
            retries: ctx.staged.retries,
            skipped_files: ctx.staged.skippedFiles,
            skipped_bytes: ctx.staged.skippedBytes,
            sent_files: ctx.staged.sentFiles,
            sent_bytes: ctx.staged.sentBytes,
            wire_bytes: ctx.staged.wireBytes,
            resent_files: ctx.staged.resentFiles,
            resumed_bytes: ctx.staged.resumedBytes,
            parallel: ctx.staged.parallel,
            compressed: ctx.staged.compressed,
            swapped: ctx.staged.swapped,
          }
        : undefined,
      summary: summaryJson(ctx.watch?.summary),
      staging_reclaimed: ctx.reclaimed,
      warnings: ctx.warnings,
      timings: ctx.timings,
      exit_code: out.exitCode,
      ...(out.error ? {error: out.error} : {}),
      ...(out.reason ? {reason: out.reason} : {}),
      ...(out.hint ? {hint: out.hint} : {}),
    }
  }

  private renderPanel(ctx: PushContext, o: PushOptions, doc: PushJson): void {
    if (this.jsonEnabled()) return
    const plan = ctx.plan!
    if (o.dryRun) {
      this.out('')
      this.out(style.bold('Plan (dry run — nothing was written)'))
      this.out(`  target     context ${ctx.target?.context}, namespace ${ctx.release?.namespace}, release ${ctx.release?.release} (chart ${ctx.release?.chartVersion})`)
      this.out(`  files      ${plan.files.length} (${humanBytes(plan.totalBytes)}) → ${plan.stagingPrefix}/`)
      this.out(`  rows       ${plan.rows}`)
      this.out('  ingest config:')
      for (const l of plan.configYaml.trimEnd().split('\n')) this.out(`    ${l}`)
      return
    }
    const key = `  idempotency key ${ctx.idempotencyKey}`
    if (o.detach) {
      this.out(`\n${style.green('✔')} Submitted — the ingestion runs in your cluster.`)
      this.out(`  job ${ctx.submit?.jobName} in ${ctx.submit?.namespace}`)
      this.out(key)
      this.out(`  Follow it: kubectl logs -f -n ${ctx.submit?.namespace} job/${ctx.submit?.jobName}`)
      return
    }
    const s = ctx.watch?.summary
    const counts = s ? ` — ingested ${s.insertedRecords.toLocaleString('en-US')} of ${s.totalRecords.toLocaleString('en-US')} records (${s.successRate.toFixed(1)}%)` : ''
    const head: Record<string, string> = {
      succeeded: `${style.green('✔')} Ingestion complete${counts}`,
      completed_with_failures: `${style.yellow('⚠')} Ingestion completed with failures${counts}`,
      failed: `${style.red('✖')} Ingestion failed`,
      not_started: `${style.red('✖')} Ingestion never started`,
      unknown: `${style.yellow('?')} Ingestion outcome unknown`,
    }
    this.out('')
    this.out(head[doc.status] ?? doc.status)
    if (s) {
      this.out(`  ingestor ID      ${s.ingestorId ?? '-'}`)
      this.out(`  total records    ${s.totalRecords}`)
      this.out(`  inserted         ${s.insertedRecords}`)
      if (s.apiSentRecords < s.insertedRecords) this.out(`  sent to API      ${s.apiSentRecords}`)
      if (s.skippedRecords) this.out(`  skipped          ${s.skippedRecords}`)
      if (s.fileTransferFailures) this.out(`  file failures    ${s.fileTransferFailures}`)
      if (s.dbInsertFailures) this.out(`  DB failures      ${s.dbInsertFailures}`)
    }
    this.out(`  table ${plan.table} · job ${ctx.submit?.jobName} · namespace ${ctx.submit?.namespace}`)
    this.out(key)
    if (doc.status !== 'succeeded') {
      for (const l of (ctx.watch?.failureLines ?? []).slice(-8)) this.out(`  ${style.dim('│')} ${l}`)
      if (doc.error) this.out(`  ${style.dim('→')} ${doc.error}`)
      this.out(`  ${style.dim('→')} logs: kubectl logs -n ${ctx.submit?.namespace} job/${ctx.submit?.jobName}`)
    } else if (ctx.reclaimed) {
      this.out(`  staged copy reclaimed from client-pvc`)
    }
  }
}
