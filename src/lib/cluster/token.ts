// Minting the ingestor ServiceAccount token jobs-manager authenticates us with.
//
// Lifetime: jobs-manager checks the token only while it handles the submit (a TokenReview at request
// time; the ingestion Job gets credentials of its own), so the token needs to outlive the submit and
// its retries (at most 4 attempts of up to 30 s plus back-off: under 3 min), nothing more. We ask for
// the API server's minimum, 10 min, and mint again just before the submit when less than
// SUBMIT_WINDOW_SECONDS is left (a long upload between connect and submit).
// Audience: the default (the API server's own). jobs-manager's TokenReview names no audience, so the
// API server checks the token against its default audiences; a token bound to any other audience is
// refused there. See docs/credentials.md.
import {createHash} from 'node:crypto'

import {CliError, ExitCode} from '../output/errors.js'
import {registerSecret} from '../output/redact.js'
import {apiFailure, ClusterTarget, withApiRetry} from './kube.js'

/** The API server's minimum TokenRequest lifetime; enough for the submit it is used for. */
export const TOKEN_SECONDS = 600
/** Re-mint before the submit when the token has less than this left. */
export const SUBMIT_WINDOW_SECONDS = 300

export interface IngestorToken {
  /** Never print or log this; it is registered with the redactor the moment it is read. */
  token: string
  source: 'TokenRequest' | 'secret'
  expiresAt?: Date
  /** First 8 bytes of sha256(token), hex: safe to display for correlation. */
  fingerprint: string
  /** Where it was minted, so it can be minted again. */
  namespace: string
  serviceAccount: string
}

export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 16)
}

/** TokenRequest first; the legacy SA-token Secret only when TokenRequest is forbidden/absent (403/404/405). */
export async function mintIngestorToken(t: ClusterTarget, namespace: string, sa: string, seconds = TOKEN_SECONDS, signal?: AbortSignal): Promise<IngestorToken> {
  let first: string
  try {
    const tr = await withApiRetry(
      () => t.core.createNamespacedServiceAccountToken({name: sa, namespace, body: {spec: {audiences: [], expirationSeconds: seconds}}}),
      {signal},
    )
    const token = tr.status?.token
    if (!token) throw new Error('TokenRequest returned no token')
    registerSecret(token)
    const exp = tr.status?.expirationTimestamp
    return {token, source: 'TokenRequest', expiresAt: exp ? new Date(exp) : undefined, fingerprint: tokenFingerprint(token), namespace, serviceAccount: sa}
  } catch (error) {
    const f = apiFailure(error)
    if (![403, 404, 405].includes(f.code)) {
      throw new CliError(`minting a token for ServiceAccount ${namespace}/${sa}: ${f.message}`, {
        exitCode: ExitCode.AUTH,
        hint: f.code === 0 ? 'check connectivity to the API server and retry' : 'retry; if it persists, check the API server logs',
        reason: 'token_mint_failed',
      })
    }
    first = `${f.code} ${f.message}`
  }
  try {
    const found = await readLegacyToken(t, namespace, sa, signal)
    return {...found, namespace, serviceAccount: sa}
  } catch (error) {
    throw legacyFailed(namespace, sa, first, error)
  }
}

/** A token that still has SUBMIT_WINDOW_SECONDS to live: the one given, or a newly minted one. */
export async function freshIngestorToken(t: ClusterTarget, tok: IngestorToken, signal?: AbortSignal, now = Date.now()): Promise<IngestorToken> {
  if (tok.source !== 'TokenRequest' || !tok.expiresAt) return tok
  if (tok.expiresAt.getTime() - now >= SUBMIT_WINDOW_SECONDS * 1000) return tok
  return mintIngestorToken(t, tok.namespace, tok.serviceAccount, TOKEN_SECONDS, signal)
}

/** The legacy `kubernetes.io/service-account-token` Secret of the ServiceAccount. */
async function readLegacyToken(t: ClusterTarget, namespace: string, sa: string, signal?: AbortSignal): Promise<{token: string; source: 'secret'; fingerprint: string}> {
  const secrets = await withApiRetry(() => t.core.listNamespacedSecret({namespace, fieldSelector: 'type=kubernetes.io/service-account-token'}), {signal})
  // every token in the answer is a secret, whichever ServiceAccount it belongs to
  for (const s of secrets.items) if (s.data?.token) registerSecret(Buffer.from(s.data.token, 'base64').toString('utf8'))
  for (const s of secrets.items) {
    if (s.metadata?.annotations?.['kubernetes.io/service-account.name'] !== sa || !s.data?.token) continue
    const token = Buffer.from(s.data.token, 'base64').toString('utf8')
    return {token, source: 'secret', fingerprint: tokenFingerprint(token)}
  }
  throw new Error(`no kubernetes.io/service-account-token Secret for ServiceAccount ${sa}`)
}

function legacyFailed(namespace: string, sa: string, first: string, error: unknown): CliError {
  const second = error instanceof Error && !('code' in error) ? error.message : apiFailure(error).message
  return new CliError(`no usable ingestor token — TokenRequest failed (${first}); fallback to a static Secret failed (${second})`, {
    exitCode: ExitCode.AUTH,
    hint: `grant your user \`create\` on serviceaccounts/token in namespace ${namespace}, or have an admin create a kubernetes.io/service-account-token Secret for ServiceAccount ${sa}`,
    reason: 'token_unavailable',
  })
}

export interface TokenAvailability {
  source: 'TokenRequest' | 'secret'
  /** Only for a static Secret token (nothing is minted to find out). */
  fingerprint?: string
}

/**
 * Whether a push could get the ingestor token, without minting one: a SelfSubjectAccessReview for
 * `create serviceaccounts/token` answers for TokenRequest (its result comes in `allowed`); only when
 * that is denied is the legacy Secret looked for, as the push would.
 */
export async function checkIngestorToken(t: ClusterTarget, namespace: string, sa: string, signal?: AbortSignal): Promise<TokenAvailability> {
  let canRequest: boolean
  try {
    const review = await withApiRetry(
      () =>
        t.authz.createSelfSubjectAccessReview({
          body: {spec: {resourceAttributes: {namespace, verb: 'create', group: '', resource: 'serviceaccounts', subresource: 'token', name: sa}}},
        }),
      {signal},
    )
    canRequest = Boolean(review.status?.allowed) && !review.status?.denied
  } catch (error) {
    throw new CliError(`checking whether a token can be requested for ServiceAccount ${namespace}/${sa}: ${apiFailure(error).message}`, {
      exitCode: ExitCode.AUTH,
      hint: 'check connectivity to the API server and retry',
      reason: 'token_check_failed',
    })
  }
  if (canRequest) return {source: 'TokenRequest'}
  try {
    const found = await readLegacyToken(t, namespace, sa, signal)
    return {source: 'secret', fingerprint: found.fingerprint}
  } catch (error) {
    throw legacyFailed(namespace, sa, `create serviceaccounts/token is not allowed for ServiceAccount ${sa}`, error)
  }
}
