// Minting the ingestor ServiceAccount token jobs-manager authenticates us with (PROTOCOL.md §8.5).
import {createHash} from 'node:crypto'

import {CliError, ExitCode} from '../output/errors.js'
import {registerSecret} from '../output/redact.js'
import {apiFailure, ClusterTarget, withApiRetry} from './kube.js'

export interface IngestorToken {
  /** Never print or log this; it is registered with the redactor the moment it is read. */
  token: string
  source: 'TokenRequest' | 'secret'
  expiresAt?: Date
  /** First 8 bytes of sha256(token), hex: safe to display for correlation. */
  fingerprint: string
}

export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 16)
}

/** TokenRequest first; the legacy SA-token Secret only when TokenRequest is forbidden/absent (403/404/405). */
export async function mintIngestorToken(t: ClusterTarget, namespace: string, sa: string, seconds = 3600, signal?: AbortSignal): Promise<IngestorToken> {
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
    return {token, source: 'TokenRequest', expiresAt: exp ? new Date(exp) : undefined, fingerprint: tokenFingerprint(token)}
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
    const secrets = await withApiRetry(
      () => t.core.listNamespacedSecret({namespace, fieldSelector: 'type=kubernetes.io/service-account-token'}),
      {signal},
    )
    for (const s of secrets.items) {
      if (s.metadata?.annotations?.['kubernetes.io/service-account.name'] !== sa || !s.data?.token) continue
      const token = Buffer.from(s.data.token, 'base64').toString('utf8')
      registerSecret(token)
      return {token, source: 'secret', fingerprint: tokenFingerprint(token)}
    }
    throw new Error(`no kubernetes.io/service-account-token Secret for ServiceAccount ${sa}`)
  } catch (error) {
    const second = error instanceof Error && !('code' in error) ? error.message : apiFailure(error).message
    throw new CliError(
      `no usable ingestor token: TokenRequest failed (${first}); fallback to a static Secret failed (${second})`,
      {
        exitCode: ExitCode.AUTH,
        hint: `grant your user \`create\` on serviceaccounts/token in namespace ${namespace}, or have an admin create a kubernetes.io/service-account-token Secret for ServiceAccount ${sa}`,
        reason: 'token_unavailable',
      },
    )
  }
}
