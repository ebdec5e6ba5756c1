// The connect probe: every step of reaching a tracebloc client, each computed once and shared by
// whoever asks (push's connect step, cluster info, doctor: one connect sequence for all three).
// A step resolves with what it found or throws the CliError a push would fail with there (the
// frozen exit code included), so callers either stop at the first failure or collect them all.
import {ClientRelease, checkSharedPvc, discoverRelease, JOBS_MANAGER_PORT, pickJobsManagerPod, SharedPvc} from '../cluster/discovery.js'
import {apiFailure, ClusterFlags, ClusterTarget, loadClusterTarget, unreachable, withApiRetry} from '../cluster/kube.js'
import {checkPermissions, Permission, PermissionCheck} from '../cluster/rbac.js'
import {checkIngestorToken, IngestorToken, mintIngestorToken, TokenAvailability} from '../cluster/token.js'
import {ClusterIdentity, clusterIdentity} from '../guard/identity.js'
import {CliError, ExitCode} from '../output/errors.js'

/** Kubernetes minors the CLI is built and tested for; outside them it may work, and doctor warns. */
export const SUPPORTED_MINORS = {min: 27, max: 34}

export interface ServerVersion {
  gitVersion: string
  major: number
  minor: number
}

export interface JobsManagerState {
  pod: string
  schema?: {schema_version?: string; schema_sha256?: string}
}

export interface ProbeOptions {
  /** false: never ask on the terminal (namespace switch becomes an error naming -n). */
  prompts?: boolean
  signal?: AbortSignal
}

export class Probe {
  private readonly memo = new Map<string, Promise<unknown>>()

  constructor(
    readonly flags: ClusterFlags,
    private readonly o: ProbeOptions = {},
  ) {}

  /** Each step runs once; a second caller gets the same answer (or the same error). */
  private once<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let p = this.memo.get(key) as Promise<T> | undefined
    if (!p) {
      p = fn()
      p.catch(() => undefined) // a failed step is reported by whoever awaits it
      this.memo.set(key, p)
    }
    return p
  }

  /** Kubeconfig, context, credentials (exit 3). */
  target(): Promise<ClusterTarget> {
    return this.once('target', async () => {
      const t = await loadClusterTarget(this.flags)
      if (this.o.prompts === false) t.prompts = false
      return t
    })
  }

  /** The API server answers (GET /version) with these credentials (exit 3 when not). */
  server(): Promise<ServerVersion> {
    return this.once('server', async () => {
      const t = await this.target()
      try {
        const v = await withApiRetry(() => t.kc.makeApiClient(t.k8s.VersionApi).getCode(), {signal: this.o.signal, attempts: 2})
        return {gitVersion: v.gitVersion, major: Number.parseInt(v.major, 10), minor: Number.parseInt(v.minor, 10)}
      } catch (error) {
        const f = apiFailure(error)
        if (f.code === 0) throw unreachable(t, f)
        if (f.code === 401) {
          throw new CliError(`the API server rejected your credentials (context "${t.context}"): they are expired, revoked or for another cluster`, {
            exitCode: ExitCode.LOCAL_ENV,
            hint: 'refresh your kubeconfig credentials (e.g. re-run your cloud provider login), then retry',
            reason: 'unauthorized',
          })
        }
        // /version may be closed to a user; the release lookup that follows says whether the server answers
        return {gitVersion: 'unknown', major: 0, minor: 0}
      }
    })
  }

  /** The cluster's identity (kube-system UID) and the release namespace. */
  identity(): Promise<ClusterIdentity> {
    return this.once('identity', async () => clusterIdentity(await this.target(), (await this.release()).namespace, this.o.signal))
  }

  /** The client release (exit 4). */
  release(): Promise<ClientRelease> {
    return this.once('release', async () => discoverRelease(await this.target(), this.o.signal))
  }

  /** client-pvc Bound (exit 4). */
  pvc(): Promise<SharedPvc> {
    return this.once('pvc', async () => {
      await this.release()
      return checkSharedPvc(await this.target(), this.o.signal)
    })
  }

  /** One SelfSubjectAccessReview per permission (answers; never throws for a denied verb). */
  permissions(key: string, perms: Array<Permission & {purpose: string}>): Promise<PermissionCheck[]> {
    return this.once(`permissions:${key}`, async () => checkPermissions(await this.target(), (await this.release()).namespace, perms, this.o.signal))
  }

  /** A Running and Ready jobs-manager pod (exit 8). */
  jobsManagerPod(): Promise<string> {
    return this.once('jobs-manager-pod', async () => pickJobsManagerPod(await this.target(), await this.release(), this.o.signal))
  }

  /** A Running and Ready jobs-manager pod, and the schema it reports through a port-forward closed right after (exit 8). */
  jobsManager(): Promise<JobsManagerState> {
    return this.once('jobs-manager', async () => {
      const t = await this.target()
      const rel = await this.release()
      const pod = await this.jobsManagerPod()
      const {openPortForward} = await import('../cluster/portforward.js')
      const {fetchServerSchema} = await import('../submit/submit.js')
      const pf = await openPortForward(t, rel.namespace, pod, JOBS_MANAGER_PORT)
      try {
        return {pod, schema: await fetchServerSchema(pf.baseUrl, this.o.signal)}
      } finally {
        await pf.close()
      }
    })
  }

  /** How a push would get the ingestor token, without minting one (exit 5). */
  tokenAvailability(): Promise<TokenAvailability> {
    return this.once('token-check', async () => {
      const rel = await this.release()
      return checkIngestorToken(await this.target(), rel.namespace, rel.ingestorSA, this.o.signal)
    })
  }

  /** A real ingestor token, as a push mints it (exit 5). The caller throws it away. */
  mintToken(): Promise<IngestorToken> {
    return this.once('token-mint', async () => {
      const rel = await this.release()
      return mintIngestorToken(await this.target(), rel.namespace, rel.ingestorSA, undefined, this.o.signal)
    })
  }

  /** The Running mysql-client pod answers `SELECT 1` (exit 7, as push's existence check). */
  mysql(): Promise<{pod: string}> {
    return this.once('mysql', async () => {
      const t = await this.target()
      const ns = (await this.release()).namespace
      const {findMysqlPod, query} = await import('../catalog/mysql.js')
      const pod = await findMysqlPod(t, ns, this.o.signal)
      try {
        const [[row]] = await query({t, namespace: ns, pod, signal: this.o.signal}, [{sql: 'SELECT 1', columns: 1}])
        if (row?.[0] !== '1') throw new Error(`unexpected answer ${JSON.stringify(row)}`)
      } catch (error) {
        if (error instanceof CliError) throw error
        throw new CliError(`the client's MySQL (pod ${pod}) did not answer: ${(error as Error).message.split('\n')[0]}`, {
          exitCode: ExitCode.STAGING,
          hint: `kubectl logs -n ${ns} ${pod}`,
          reason: 'mysql_unavailable',
        })
      }
      return {pod}
    })
  }
}
