// Kubeconfig resolution and typed API clients. @kubernetes/client-node costs ~0.5 s to import,
// so it is loaded lazily, only by commands that talk to a cluster.
import {existsSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {CliError, ExitCode} from '../output/errors.js'
import {KubeconfigUnreadable, registerRequestCredentials, scanKubeconfigFile} from './kubeconfig.js'

export type K8s = typeof import('@kubernetes/client-node')
type KubeConfig = import('@kubernetes/client-node').KubeConfig

export interface ClusterFlags {
  kubeconfig?: string
  context?: string
  namespace?: string
}

export interface ClusterTarget {
  k8s: K8s
  kc: KubeConfig
  context: string
  server: string
  /** Namespace to look for the client release in. */
  namespace: string
  /** True when --namespace or --context was given: never second-guessed, no cluster-wide scan. */
  explicit: boolean
  /** false: never ask on the terminal (a live task list owns it); a question becomes an error naming the flag. */
  prompts?: boolean
  core: import('@kubernetes/client-node').CoreV1Api
  apps: import('@kubernetes/client-node').AppsV1Api
  batch: import('@kubernetes/client-node').BatchV1Api
  authz: import('@kubernetes/client-node').AuthorizationV1Api
}

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p
}

/**
 * Loading rules match kubectl/client-go: --kubeconfig (explicit file, no merge) > $KUBECONFIG (merged) >
 * ~/.kube/config. Exec credential plugins and OIDC are handled by client-node at request time.
 */
export async function loadClusterTarget(flags: ClusterFlags): Promise<ClusterTarget> {
  const k8s = await import('@kubernetes/client-node')
  const kc = new k8s.KubeConfig()
  try {
    if (flags.kubeconfig) {
      const file = expandHome(flags.kubeconfig)
      if (!existsSync(file)) throw new Error(`${file} does not exist`)
      scanKubeconfigFile(file)
      kc.loadFromFile(file)
    } else {
      const env = process.env.KUBECONFIG
      const files = (env ?? '').split(path.delimiter).filter(Boolean)
      const fallback = path.join(os.homedir(), '.kube', 'config')
      if (files.length === 0 && !existsSync(fallback)) throw new Error(`no kubeconfig found (KUBECONFIG unset and ${fallback} missing)`)
      for (const file of files.length > 0 ? files : [fallback]) scanKubeconfigFile(file)
      kc.loadFromDefault()
    }
  } catch (error) {
    // our own scan's messages never quote the file; anything from the client library is cut to its first
    // line (js-yaml appends a snippet of the file on the following lines) and redacted when printed
    const message = error instanceof KubeconfigUnreadable ? error.message : (error as Error).message.split('\n')[0]
    throw new CliError(`loading kubeconfig: ${message}`, {
      exitCode: ExitCode.LOCAL_ENV,
      hint: 'point --kubeconfig (or KUBECONFIG) at a valid kubeconfig for the cluster running your tracebloc client',
      reason: 'kubeconfig',
    })
  }
  // Exec plugins and auth providers produce credentials at request time: register each before it is sent.
  const internals = kc as unknown as {applyOptions: (opts: Record<string, unknown>) => Promise<void>}
  const applyOptions = internals.applyOptions.bind(kc)
  internals.applyOptions = async (opts) => {
    await applyOptions(opts)
    registerRequestCredentials(opts)
  }
  if (flags.context) {
    if (!kc.getContextObject(flags.context)) {
      throw new CliError(`context "${flags.context}" not found in kubeconfig`, {
        exitCode: ExitCode.LOCAL_ENV,
        hint: `available contexts: ${kc.getContexts().map((c) => c.name).join(', ') || '(none)'}`,
        reason: 'kubeconfig',
      })
    }
    kc.setCurrentContext(flags.context)
  }
  const context = kc.getCurrentContext()
  const cluster = kc.getCurrentCluster()
  if (!context || !cluster) {
    throw new CliError('kubeconfig has no current context', {
      exitCode: ExitCode.LOCAL_ENV,
      hint: 'pass --context, or run `kubectl config use-context <name>`',
      reason: 'kubeconfig',
    })
  }
  const ctxNs = kc.getContextObject(context)?.namespace
  return {
    k8s,
    kc,
    context,
    server: cluster.server,
    namespace: flags.namespace ?? ctxNs ?? 'default',
    explicit: Boolean(flags.namespace || flags.context),
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    batch: kc.makeApiClient(k8s.BatchV1Api),
    authz: kc.makeApiClient(k8s.AuthorizationV1Api),
  }
}

export interface ApiFailure {
  /** HTTP status, or 0 when the API server could not be reached at all. */
  code: number
  reason: string
  message: string
}

/** Normalise client-node errors (ApiException with a JSON Status body, or network errors) without leaking headers. */
export function apiFailure(error: unknown): ApiFailure {
  const e = error as {code?: unknown; body?: unknown; message?: string; cause?: {code?: string; message?: string}}
  if (typeof e?.code === 'number') {
    let status: {reason?: string; message?: string}
    try {
      status = typeof e.body === 'string' ? JSON.parse(e.body) : ((e.body as object) ?? {})
    } catch {
      status = {message: String(e.body).slice(0, 300)}
    }
    return {code: e.code, reason: status.reason ?? 'Unknown', message: status.message ?? `HTTP ${e.code}`}
  }
  const cause = e?.cause?.code ?? (e as {code?: string})?.code
  return {code: 0, reason: String(cause ?? 'NetworkError'), message: e?.cause?.message ?? e?.message ?? String(error)}
}

/** A failure to reach the API server at all is a local-environment problem (exit 3). */
export function unreachable(target: Pick<ClusterTarget, 'server' | 'context'>, f: ApiFailure): CliError {
  return new CliError(`cannot reach the Kubernetes API server ${target.server} (context "${target.context}"): ${f.message}`, {
    exitCode: ExitCode.LOCAL_ENV,
    hint: 'check the network/VPN and that this kubeconfig context points at your cluster (`kubectl cluster-info`)',
    reason: 'api_unreachable',
  })
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => {
      clearTimeout(t)
      reject(signal.reason)
    }, {once: true})
  })

/**
 * Retry transient API failures (429 honouring Retry-After, 5xx, connection resets) with backoff.
 * Everything else is returned to the caller on the first attempt.
 */
export async function withApiRetry<T>(fn: () => Promise<T>, opts: {signal?: AbortSignal; attempts?: number} = {}): Promise<T> {
  const attempts = opts.attempts ?? 5
  for (let i = 1; ; i++) {
    try {
      return await fn()
    } catch (error) {
      const f = apiFailure(error)
      const transient = f.code === 429 || (f.code >= 500 && f.code <= 504) || ['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET'].includes(f.reason)
      if (!transient || i >= attempts || opts.signal?.aborted) throw error
      const retryAfter = Number((error as {headers?: Record<string, string>}).headers?.['retry-after'])
      const wait = Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter, 30) * 1000 : Math.min(250 * 2 ** (i - 1), 4000)
      await sleep(wait, opts.signal)
    }
  }
}

export {sleep}
