import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../lib/command/base.js'
import {clusterFlags, envMs, writeFlags} from '../../lib/command/cluster-flags.js'
import {canPrompt} from '../../lib/process/input.js'
import {CATEGORIES} from '../../lib/local/categories.js'
import {parseSchemaFlag, parseSize} from '../../lib/local/flags.js'
import {parseSampleFlag} from '../../lib/local/sample.js'
import {CliError, ExitCode} from '../../lib/output/errors.js'
import {parseRate} from '../../lib/output/rate.js'
import type {PushOptions} from '../../lib/pipeline/context.js'
import type {PushJson} from '../../lib/pipeline/document.js'
import {fullPushCommand} from '../../lib/pipeline/plan.js'
import {pushDataset} from '../../lib/pipeline/run.js'
import {isRemoteSource, parseSourceUrl} from '../../lib/remote/url.js'
import {MAX_STREAMS} from '../../lib/staging/parallelism.js'
import {DEFAULT_STAGE_IMAGE} from '../../lib/pvc/stage-pod.js'
import {CompressMode, DEFAULT_PARALLEL} from '../../lib/staging/stage-files.js'
import {IDEMPOTENCY_KEY_RE, IMAGE_DIGEST_RE} from '../../lib/submit/submit.js'

export default class DatasetPush extends BaseCommand<typeof DatasetPush> {
  static summary = 'Push a local dataset into your tracebloc client and ingest it'
  static description =
    'Validates the dataset locally, connects to the tracebloc client release in your cluster, copies the files into ' +
    'the shared PVC through an ephemeral pod, submits the ingestion to jobs-manager and follows the ingestor to its summary.'
  static aliases = ['ingest']
  static examples = [
    '<%= config.bin %> dataset push ./my-data --table cats_dogs_train --category image_classification --label-column label',
    '<%= config.bin %> ingest ./my-data --table cats_dogs_train --category image_classification --label-column label --dry-run',
    '<%= config.bin %> dataset push ./houses.csv --table houses --category tabular_regression --label-column price --json',
    '<%= config.bin %> dataset push s3://acme-ml/cats-dogs/ --table cats_dogs_train --category image_classification',
    '<%= config.bin %> dataset push ./my-data --table cats_dogs_train_sample --category image_classification --sample 5% --seed 7',
    '<%= config.bin %> dataset push ./my-data --table cats_dogs_test --intent test --kubeconfig ~/.kube/prod -n tracebloc --detach',
  ]
  static args = {path: Args.string({description: 'Dataset folder (or CSV file for tabular data), or s3://bucket/prefix, gs://bucket/prefix, https://host/file.csv', required: true})}
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
    'dry-run': Flags.boolean({description: 'Print the plan without writing anything: per file what would be sent, skipped as unchanged or gzipped, the bytes on the wire, the checks, the ingest config and an ETA at a measured link rate (a short probe); without a reachable cluster, the local half'}),
    sample: Flags.string({description: 'Push only a sample: N records or P% (label-stratified for classification, uniform otherwise; sidecar files follow their rows). Name a separate table, e.g. <table>_sample'}),
    seed: Flags.integer({description: 'Seed of the --sample choice: the same seed picks the same rows [default: 0]', min: 0, dependsOn: ['sample']}),
    overwrite: Flags.boolean({description: 'Replace an existing dataset of that name (its table and files are removed first, after the checks pass)'}),
    'clean-orphans': Flags.boolean({description: 'Delete stage pods left behind by crashed runs'}),
    parallel: Flags.integer({description: `Parallel copy streams (exec connections) into the stage pod [default: measured, from ${DEFAULT_PARALLEL} up to ${MAX_STREAMS}]`, min: 1, max: 16}),
    'endpoint-url': Flags.string({description: 'S3-compatible endpoint for an s3:// source (MinIO, Ceph RGW, R2, Wasabi) [default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL]'}),
    'cluster-endpoint-url': Flags.string({description: 'The same store as the cluster reaches it, when that differs from --endpoint-url (URLs are signed for it)'}),
    'ca-bundle': Flags.string({description: 'PEM file of CAs to trust for the store, here and in the stage pod [default: AWS_CA_BUNDLE]'}),
    sha256: Flags.string({description: 'sha256 (64 hex digits) of an https:// CSV or archive; the stage pod checks the download against it [default: its line in a SHA256SUMS beside the URL, when there is one]'}),
    'forward-proxy': Flags.boolean({description: 'Hand HTTPS_PROXY/HTTP_PROXY/NO_PROXY of this shell to the stage pod (on exec stdin, never its spec)'}),
    bwlimit: Flags.string({description: 'Cap the bandwidth of everything the push sends from this machine, all streams together: 8MiB, 500KiB, 50Mbit (per second); off for no cap [default: none]'}),
    compress: Flags.string({description: 'Gzip copy streams (exec v5 servers): auto = text/CSV files, only on a link measured slow; on = everything; off = never', options: ['auto', 'on', 'off'], default: 'auto'}),
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
    // a URL is checked before anything else: an unknown scheme is a one-line error, not a missing folder
    if (isRemoteSource(this.args.path)) parseSourceUrl(this.args.path)
    else if (f['endpoint-url'] || f['cluster-endpoint-url'] || f['forward-proxy']) {
      throw new CliError('--endpoint-url, --cluster-endpoint-url and --forward-proxy apply to s3://, gs:// and https:// sources only', {exitCode: ExitCode.BAD_INPUT, reason: 'flag_not_applicable'})
    }
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
        sample: f.sample === undefined ? undefined : {...parseSampleFlag(f.sample), seed: f.seed ?? 0},
      },
      cluster: {kubeconfig: f.kubeconfig, context: f.context, namespace: f.namespace},
      idempotencyKey: f['idempotency-key'],
      imageDigest: f['image-digest'],
      stageImage: f['stage-image'],
      detach: f.detach,
      dryRun: f['dry-run'],
      fullPushCommand: f.sample === undefined ? undefined : fullPushCommand(`${this.config.bin} dataset push`, this.argv, f.table),
      overwrite: f.overwrite,
      json: this.jsonEnabled(),
      cleanOrphans: f['clean-orphans'],
      signal: this.interruption.signal,
      // a pseudo-terminal without a size (some CI runners) renders the live list one char per line: use plain lines
      tty: Boolean(process.stdout.isTTY) && (process.stdout.columns ?? 0) >= 20,
      podReadyTimeoutMs: envMs('TRACEBLOC_STAGE_POD_TIMEOUT', 120),
      podStartTimeoutMs: envMs('TRACEBLOC_POD_START_TIMEOUT', 300),
      parallel: f.parallel,
      compress: f.compress as CompressMode,
      bwlimit: f.bwlimit === undefined ? undefined : bwlimitFlag(f.bwlimit),
      remote: isRemoteSource(this.args.path) ? {endpointUrl: f['endpoint-url'], clusterEndpointUrl: f['cluster-endpoint-url'], caBundle: f['ca-bundle'], forwardProxy: f['forward-proxy'], sha256: f.sha256} : undefined,
      guardTarget: (t, ns) => this.guardTarget(t, ns, {dryRun: f['dry-run'], signal: this.interruption.signal}),
    }
    const {doc, panel} = await pushDataset(opts, this.interruption, {note: (s) => this.note(s), warn: (s) => this.warnLine(s), cacheDir: this.config.cacheDir})
    for (const l of panel) this.out(l)
    return doc
  }
}

/** Bytes per second, or undefined for no cap (`off`); a value that is not a rate is exit 2. */
function bwlimitFlag(text: string): number | undefined {
  const {bytesPerSecond, problem} = parseRate(text)
  if (problem !== undefined) throw new CliError(`--bwlimit: ${problem}`, {exitCode: ExitCode.BAD_INPUT, reason: 'bad_flag'})
  return bytesPerSecond
}
