// Fault knobs, shared by every part of the sandbox. Tests flip them in-process
// (sandbox.faults.set({...})); `npm run sandbox` also accepts them as SANDBOX_FAULTS='{"…":…}'
// and through the control API (POST /_sandbox/faults on the API server, admin token).
export interface FaultSettings {
  // --- API server (apiserver/) ---
  /** Answer the next N API requests with this HTTP status (429 or 5xx) and Retry-After. */
  apiErrorBurst?: {count: number; status: number; retryAfterSeconds?: number; pathIncludes?: string}
  /** Cut exec WebSocket streams after this many stdin bytes; `times` cuts, then behave. */
  cutExecAfterBytes?: {bytes: number; times: number}
  /** Flip one byte of exec stdin at this offset (bytes into the stream) before the pod reads it; `times` streams. */
  corruptExecStdinAt?: {bytes: number; times: number}
  /** Cut port-forward streams after this many bytes; `times` cuts, then behave. */
  cutPortForwardAfterBytes?: {bytes: number; times: number}
  /** Cap exec stdin throughput (bytes/s) per exec stream, to emulate a slow link. */
  execBytesPerSecond?: number
  /** Cap exec stdin throughput (bytes/s) of all exec streams together: one slow uplink they share. */
  uplinkBytesPerSecond?: number
  /** Modelled remote link (apiserver/link.ts): round-trip time of every exec and port-forward connection, ms. */
  linkLatencyMs?: number
  /** Modelled remote link: cap per exec/port-forward connection and direction, bytes/s (connections add up). */
  linkBytesPerSecond?: number
  /** Negotiate only v4.channel.k8s.io for exec (an API server < 1.30). */
  execV4Only?: boolean
  // --- kubelet/ ---
  /** Pods whose image matches this substring fail with ErrImagePull → ImagePullBackOff. */
  imagePullFailure?: string
  /** Pods whose name matches this substring stay Pending with a FailedScheduling event. */
  stuckPending?: string
  /** Cut log streams after this many bytes (once per stream). */
  cutLogStreamAfterBytes?: number
  // --- release/ ---
  /** PVC client-pvc reports phase Pending instead of Bound. */
  /** Pods started from now on see client-pvc full: a 1 MiB tmpfs over its mount (the data stays on the host). */
  pvcFull?: boolean
  /** Static users (admin, reader …) whose token the API server now refuses with 401, as an expired credential. */
  expiredCredentials?: string[]
  pvcNotBound?: boolean
  /** jobs-manager pod: 'down' = no pod Running; 'notready' = Running but Ready=False, port closed. */
  jobsManager?: 'down' | 'notready'
  /** Answer the next N submits with this status (e.g. 503) before behaving. */
  submitErrorBurst?: {count: number; status: number}
  /** GET /v1/version answers 404 (older jobs-manager). */
  noVersionEndpoint?: boolean
  /** Schema copy jobs-manager validates with: 'current' (vendored) or 'upstream-newer' (di develop). */
  serverSchema?: 'current' | 'upstream-newer'
  /** mysql-client Deployment: 'down' = 0 replicas (no Running mysql pod). */
  mysql?: 'down'
  /** Not a fault but the chart switch: jobs-manager runs ingestions with PER_INGESTION_TABLES=1 (ds_<hex> tables). */
  perIngestionTables?: boolean
  /** Ingestor failure modes, documented in docs/protocol.md#ingestor-exit-codes. */
  ingestor?: 'config-error' | 'validator-failure' | 'skipped-rows' | 'file-transfer-failure' | 'crash' | 'mysql-unreachable' | 'slow'
  /** Milliseconds the ingestor pauses between its progress lines (a run of N records lasts ~min(N, 12) × this). */
  ingestorSlowMs?: number
  // --- object-store/ (started with startSandbox({objectStore: true})) ---
  objectStore?: ObjectStoreFaults
}

/** Faults of the sandbox object store (S3 API and static HTTPS server). `keyIncludes` limits one to matching paths. */
export interface ObjectStoreFaults {
  /** Answer the next `count` object GETs with 503 SlowDown and Retry-After. */
  slowDown?: {count: number; retryAfterSeconds: number; keyIncludes?: string}
  /** Cut the connection after this many body bytes of an object GET; `times` cuts, then behave. */
  cutAfterBytes?: {bytes: number; times: number; keyIncludes?: string}
  /** Flip one body byte of an object GET (headers, ETag included, stay those of the stored object); `times` GETs. */
  corruptBody?: {times: number; keyIncludes?: string}
  /** The object changes mid-pull: cut its GET after `bytes`, then overwrite the object with different content (once). */
  changeMidPull?: {bytes: number; keyIncludes: string}
  /** The store's clock runs this far ahead: presigned URLs expire that much earlier. */
  clockSkewSeconds?: number
  /** Pods created from now on get no path to the store (a NetworkPolicy denying egress). */
  noPodEgress?: boolean
  /** The identity lacks these IAM actions: `s3:ListBucket` (listing, HeadBucket), `s3:GetObject` (object GET/HEAD) → 403 AccessDenied. */
  denyActions?: string[]
  /**
   * The buckets live in this region: a request signed for another is refused with 400
   * AuthorizationHeaderMalformed "… the region 'X' is wrong; expecting 'Y'" and, as MinIO and Ceph do,
   * no x-amz-bucket-region header.
   */
  bucketRegion?: string
}

export class Faults {
  private settings: FaultSettings = {}
  private readonly listeners = new Set<(s: FaultSettings) => void>()

  get(): Readonly<FaultSettings> {
    return this.settings
  }

  set(patch: FaultSettings): void {
    this.settings = {...this.settings, ...patch}
    for (const l of this.listeners) l(this.settings)
  }

  clear(): void {
    this.settings = {}
    for (const l of this.listeners) l(this.settings)
  }

  /** Consume one unit of a counted fault (burst/cut); returns true when the fault fires. */
  take<K extends 'apiErrorBurst' | 'submitErrorBurst'>(key: K): FaultSettings[K] | undefined {
    const f = this.settings[key] as {count: number} | undefined
    if (!f || f.count <= 0) return undefined
    f.count--
    return f as FaultSettings[K]
  }

  takeCut(key: 'cutExecAfterBytes' | 'cutPortForwardAfterBytes' | 'corruptExecStdinAt'): number | undefined {
    const f = this.settings[key]
    if (!f || f.times <= 0) return undefined
    f.times--
    return f.bytes
  }

  onChange(fn: (s: FaultSettings) => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }
}
