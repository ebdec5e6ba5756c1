// What kind of credential the current kubeconfig user holds, and whether it has visibly expired,
// read without printing it: a JWT's `exp` claim (ServiceAccount and OIDC tokens), an auth-provider's
// cached expiry. Exec plugins produce theirs at request time; a refused one shows as a 401.
import {ClusterTarget} from '../cluster/kube.js'
import {isoSeconds} from '../output/format.js'

export interface CredentialInfo {
  kind: string
  /** ISO time the credential expired at, when it is known to be expired. */
  expiredAt?: string
}

export function describeCredential(t: Pick<ClusterTarget, 'kc'>, now = Date.now()): CredentialInfo {
  const user = t.kc.getCurrentUser()
  if (!user) return {kind: 'no user'}
  if (user.exec) return {kind: `exec plugin ${user.exec.command}`}
  if (user.authProvider) {
    const cfg = (user.authProvider.config ?? {}) as Record<string, string>
    const expiry = cfg.expiry ? Date.parse(cfg.expiry) : Number.NaN
    const fromJwt = jwtExpiry(cfg['id-token'])
    const at = Number.isFinite(expiry) ? expiry : fromJwt
    return {kind: `auth provider ${user.authProvider.name}`, ...(at !== undefined && at < now ? {expiredAt: isoSeconds(at)} : {})}
  }
  if (user.token) {
    const at = jwtExpiry(user.token)
    return {kind: at === undefined ? 'bearer token' : 'bearer token (JWT)', ...(at !== undefined && at < now ? {expiredAt: isoSeconds(at)} : {})}
  }
  if (user.certData || user.certFile) return {kind: 'client certificate'}
  if (user.username) return {kind: 'basic auth'}
  return {kind: 'no credentials'}
}

/** The `exp` claim of a JWT in ms, or undefined when the value is not a JWT with one. */
function jwtExpiry(token: string | undefined): number | undefined {
  const parts = token?.split('.')
  if (!parts || parts.length !== 3) return undefined
  try {
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as {exp?: unknown}
    return typeof claims.exp === 'number' ? claims.exp * 1000 : undefined
  } catch {
    return undefined
  }
}
