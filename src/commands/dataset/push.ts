import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../lib/command/base.js'
import {parseSchemaFlag, parseSize} from '../../lib/dataset/flags.js'
import {clusterFlags, envMs, writeFlags} from '../../lib/command/cluster-flags.js'
import {canPrompt} from '../../lib/command/input.js'
import type {ClusterIdentity} from '../../lib/guard/identity.js'
import {exitWhenDone, signalPoint} from '../../lib/command/signals.js'
import {CliError, ExitCode, isCliError} from '../../lib/output/errors.js'
import {style} from '../../lib/output/style.js'
import {humanBytes} from '../../lib/pipeline/format.js'
import {interruptedReport} from '../../lib/pipeline/interrupted.js'
import {classify, cleanupPush, initialContext, PushContext, PushOptions, PushStatus, reclaimStaging, removeStagePodNow, runPush, summaryJson, WatchOutcomeShown} from '../../lib/pipeline/push.js'
import {DEFAULT_STAGE_IMAGE} from '../../lib/staging/stage-pod.js'
import {MAX_STREAMS} from '../../lib/staging/parallelism.js'
import {CompressMode, DEFAULT_PARALLEL} from '../../lib/staging/stream.js'
import {IDEMPOTENCY_KEY_RE, IMAGE_DIGEST_RE} from '../../lib/submit/submit.js'
import {CATEGORIES} from '../../lib/dataset/categories.js'
import {rememberRun} from '../../lib/runs/remember.js'
import {followCommand} from '../../lib/runs/runs.js'
import {failureLines, outcomePanel} from '../../lib/watch/panel.js'

export interface PushJson {
  status: PushStatus
  table?: string
  category?: string
  intent?: string
  namespace?: string
  release?: string
  /** The target cluster's identity (kube-system UID), as the wrong-cluster guard saw it. */
  cluster?: {uid?: string; server: string; context: string}
  idempotency_key: string
  job_name?: string
  /** Re-attach to the run: `tracebloc dataset logs <key> -n <ns>`. */
  follow_command?: string
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
    /** The hash the stage pod checked every received byte with (sha256 or md5, chosen per pod). */
    verified_with?: string
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
  /** The ingestor's own failure lines (validator failures, `Ingestion failed:` …), when it failed. */
  details?: string[]
}

export default class DatasetPush extends BaseCommand<typeof DatasetPush> {
  /** The target cluster's identity, once the wrong-cluster guard has looked. */
  private identity?: ClusterIdentity
  static summary = 'Push a local dataset into your tracebloc client and ingest it'
  static description =
    'Validates the dataset locally, connects to the tracebloc client release in your cluster, copies the files into ' +
    'the shared PVC through an ephemeral pod, submits the ingestion to jobs-manager and follows the ingestor to its summary.'
  static aliases = ['ingest']
  static examples = [
    '<%= config.bin %> dataset push ./my-data --table cats_dogs_train --category image_classification --label-column label',
    '<%= config.bin %> ingest ./my-data --table cats_dogs_train --category image_classification --label-column label --dry-run',
    '<%= config.bin %> dataset push ./houses.csv --table houses --category tabular_regression --label-column price --json',
    '<%= config.bin %> dataset push ./my-data --table cats_dogs_test --intent test --kubeconfig ~/.kube/prod -n tracebloc --detach',
  ]
  static args = {path: Args.string({description: 'Dataset folder (or CSV file for tabular data)', required: true})}
  static flags = {
    table: Flags.string({description: 'Destination table name: a letter, then letters, digits or _ (≤ 63 chars)', aliases: ['name'], required: true}),
    category: Flags.string({description: `Task category (default: detected from the data when it leaves one answer, else asked on a terminal). One of: ${CATEGORIES.join(', ')}`, aliases: ['task']}),
    intent: Flags.string({description: 'Dataset intent', options: ['train', 'test'], default: 'train'}),
    'label-column': Flags.string({description: 'CSV column holding the label (default: label)'}),
    'target-size': Flags.string({description: 'Image size WxH (default: read from the images)'}),
    'min-size': Flags.string({description: 'Minimum image size WxH (default: none)'}),
    schema: Flags.string({description: 'Tabular column types col:TYPE,… (default: inferred)'}),
    'label-policy': Flags.string({description: 'Label policy for regression-like tasks (default: bucket)', options: ['passthrough', 'bucket']}),
    'time-column': Flags.string({description: 'Time column (time_to_event_prediction)'}),
    'number-of-keypoints': Flags.integer({description: 'Keypoints per instance (keypoint_detection)', min: 1}),
    ...clusterFlags,
    ...writeFlags,
    'idempotency-key': Flags.string({description: 'Reuse a key to attach to an earlier run instead of starting a new one'}),
    'image-digest': Flags.string({description: 'Pin the ingestor image: sha256:<64 hex>'}),
    'stage-image': Flags.string({description: 'Image for the stage pod (needs sh, tar, gzip, head, dd, sha256sum, md5sum, awk, sed, grep, cat, cp, ln, mv, rm, mkdir, rmdir, touch, find, stat, printf; busybox has them all)', default: DEFAULT_STAGE_IMAGE}),
    detach: Flags.boolean({description: 'Return after submitting; the ingestion continues in the cluster'}),
    'dry-run': Flags.boolean({description: 'Print the plan (ingest config, files, bytes, cluster target) without writing anything'}),
    overwrite: Flags.boolean({description: 'Replace an existing dataset of that name (its table and files are removed first, after the checks pass)'}),
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
    if (f.overwrite && f['idempotency-key'] !== undefined) {
      throw new CliError('--overwrite cannot be combined with --idempotency-key: a replayed run would load nothing into the replaced table', {exitCode: ExitCode.BAD_INPUT, hint: 'drop --idempotency-key to start a new run', reason: 'bad_flag'})
    }
    // SIGINT/SIGTERM stop the current step; cleanup and the report of where things stand happen below
    const sig = this.interruption
    sig.cooperate()
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
        interactive: canPrompt() && !this.jsonEnabled(),
      },
      cluster: {kubeconfig: f.kubeconfig, context: f.context, namespace: f.namespace},
      idempotencyKey: f['idempotency-key'],
      imageDigest: f['image-digest'],
      stageImage: f['stage-image'],
      detach: f.detach,
      dryRun: f['dry-run'],
      overwrite: f.overwrite,
      json: this.jsonEnabled(),
      cleanOrphans: f['clean-orphans'],
      signal: sig.signal,
      // a pseudo-terminal without a size (some CI runners) renders the live list one char per line: use plain lines
      tty: Boolean(process.stdout.isTTY) && (process.stdout.columns ?? 0) >= 20,
      podReadyTimeoutMs: envMs('TRACEBLOC_STAGE_POD_TIMEOUT', 120),
      podStartTimeoutMs: envMs('TRACEBLOC_POD_START_TIMEOUT', 300),
      parallel: f.parallel,
      compress: f.compress as CompressMode,
      guardTarget: async (t, ns) => {
        this.identity = await this.guardTarget(t, ns, {dryRun: f['dry-run'], signal: sig.signal})
      },
    }
    const ctx = initialContext(opts)
    const log = {line: (s: string) => this.note(s), warn: (s: string) => this.warnLine(s)}
    // a second signal (or an unexpected error) leaves no time for the full cleanup below
    const dropUrgent = sig.onUrgent(() => removeStagePodNow(ctx))
    const dropCleanup = sig.onCleanup(() => cleanupPush(ctx))
    let failure: unknown
    try {
      await runPush(opts, ctx, log)
    } catch (error) {
      if (!(error instanceof WatchOutcomeShown) || sig.signal.aborted) failure = sig.signal.aborted ? sig.signal.reason : error
    } finally {
      await signalPoint('cleanup')
      await cleanupPush(ctx)
      dropCleanup()
      if (ctx.submit) rememberRun(this.config.cacheDir, ctx)
    }

    // (a run that had already failed keeps its own exit code if a signal comes during its cleanup)
    if (failure && failure === sig.signal.reason) {
      // a step stopped by the signal may leave a socket or timer behind: do not wait for it
      exitWhenDone()
      dropUrgent()
      process.exitCode = sig.exitCode()
      // Interrupted after the submit: the run continues in the cluster — we only stopped watching.
      if (ctx.submit) {
        const doc = this.document(ctx, opts, {status: 'detached', exitCode: sig.exitCode(), error: 'stopped watching; the ingestion keeps running in the cluster'})
        this.note(`\nStopped watching — the ingestion keeps running in your cluster.\n  Re-attach: ${followCommand(ctx.idempotencyKey, ctx.submit.namespace)}\n  or: kubectl logs -f -n ${ctx.submit.namespace} job/${ctx.submit.jobName}`)
        return doc
      }
      const r = interruptedReport(ctx, sig.interruptedBy()!)
      this.note(`\n${r.message}\n  ${style.dim('→')} ${r.hint}`)
      return this.document(ctx, opts, {status: 'interrupted', exitCode: sig.exitCode(), error: r.message, reason: 'interrupted', hint: r.hint})
    }

    if (failure) {
      dropUrgent()
      if (sig.interruptedBy()) exitWhenDone()
      // anything but a CliError is a bug: BaseCommand reports it as one
      if (!isCliError(failure)) throw failure
      if (this.jsonEnabled()) {
        process.exitCode = failure.exitCode
        return this.document(ctx, opts, {status: 'error', exitCode: failure.exitCode, error: failure.message, reason: failure.reason, hint: failure.hint})
      }
      throw failure
    }

    const outcome = classify(ctx, opts)
    if (outcome.status === 'succeeded') {
      // A signal now cannot undo the run: reclaiming is skipped or cut short (its pod is removed), exit stays 0.
      ctx.reclaimed = sig.signal.aborted ? false : await reclaimStaging(ctx, opts.stageImage, opts.podReadyTimeoutMs, sig.signal)
      if (!ctx.reclaimed) this.warnLine(`${sig.interruptedBy() ? `interrupted (${sig.interruptedBy()}) after the run succeeded: kept` : "couldn't reclaim"} the staged copy; it is harmless and the next push of "${ctx.plan!.table}" replaces it`)
    }
    dropUrgent()
    if (sig.interruptedBy()) exitWhenDone()
    const doc = this.document(ctx, opts, outcome)
    this.renderPanel(ctx, opts, doc)
    process.exitCode = outcome.exitCode
    return doc
  }

  private document(ctx: PushContext, o: PushOptions, out: {status: PushStatus; exitCode: number; error?: string; reason?: string; hint?: string; details?: string[]}): PushJson {
    const plan = ctx.plan
    return {
      status: out.status,
      table: plan?.table ?? o.plan.table,
      category: plan?.category ?? o.plan.category,
      intent: plan?.intent ?? o.plan.intent,
      namespace: ctx.release?.namespace,
      release: ctx.release?.release,
      ...(this.identity ? {cluster: {uid: this.identity.uid, server: this.identity.server, context: this.identity.context}} : {}),
      idempotency_key: ctx.idempotencyKey,
      job_name: ctx.submit?.jobName,
      follow_command: ctx.submit ? followCommand(ctx.idempotencyKey, ctx.submit.namespace) : undefined,
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
            verified_with: ctx.staged.check,
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
      ...(out.details ? {details: out.details} : {}),
    }
  }

  private renderPanel(ctx: PushContext, o: PushOptions, doc: PushJson): void {
    if (this.jsonEnabled()) return
    const plan = ctx.plan!
    if (o.dryRun) {
      this.out('')
      this.out(style.bold('Plan (dry run — nothing was written)'))
      this.out(`  target     context ${ctx.target?.context}, namespace ${ctx.release?.namespace}, release ${ctx.release?.release} (chart ${ctx.release?.chartVersion})`)
      if (this.identity) this.out(`  cluster    kube-system UID ${this.identity.uid} (${this.identity.server})`)
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
      this.out(`  Follow it: ${doc.follow_command}`)
      return
    }
    this.out('')
    for (const l of outcomePanel(doc.status, ctx.watch?.summary)) this.out(l)
    this.out(`  table ${plan.table} · job ${ctx.submit?.jobName} · namespace ${ctx.submit?.namespace}`)
    this.out(key)
    if (doc.status !== 'succeeded') {
      // The error quotes the ingestor's reason: shown once, with its last log lines.
      for (const l of failureLines(ctx.watch?.failureLines ?? [], doc.error)) this.out(l)
      if (doc.follow_command && doc.status !== 'failed' && doc.status !== 'completed_with_failures') this.out(`  ${style.dim('→')} re-attach: ${doc.follow_command}`)
      this.out(`  ${style.dim('→')} logs: kubectl logs -n ${ctx.submit?.namespace} job/${ctx.submit?.jobName}`)
    } else if (ctx.reclaimed) {
      this.out(`  staged copy reclaimed from client-pvc`)
    }
  }
}
