// RBAC preflight: one SelfSubjectAccessReview per permission the run needs, before any byte moves,
// so a missing grant fails in seconds naming the verb and the fix (the Go CLI found out after staging).
import {CliError, ExitCode} from '../output/errors.js'
import {apiFailure, ClusterTarget, withApiRetry} from './kube.js'

export interface Permission {
  verb: string
  group: string
  resource: string
  subresource?: string
}

export interface PermissionCheck extends Permission {
  allowed: boolean
  /** Why it is needed, in user terms. */
  purpose: string
}

/** One permission a command needs, and why (named when it is missing). */
export const P = (verb: string, resource: string, purpose: string, group = '', subresource?: string) => ({verb, group, resource, subresource, purpose})

/** Every permission `dataset push` uses. WebSocket upgrades are authorized as `get` on older servers, `create` on newer. */
export const PUSH_PERMISSIONS = [
  P('create', 'pods', 'create the stage pod'),
  P('get', 'pods', 'wait for pods to become ready'),
  P('list', 'pods', 'find jobs-manager and ingestor pods'),
  P('delete', 'pods', 'remove the stage pod'),
  P('create', 'pods', 'copy files into the stage pod', '', 'exec'),
  P('get', 'pods', 'copy files into the stage pod (WebSocket upgrade)', '', 'exec'),
  P('create', 'pods', 'reach jobs-manager', '', 'portforward'),
  P('get', 'pods', 'reach jobs-manager (WebSocket upgrade)', '', 'portforward'),
  P('get', 'pods', 'stream the ingestor logs', '', 'log'),
  P('get', 'jobs', 'follow the ingestion Job', 'batch'),
  P('list', 'jobs', 'follow the ingestion Job', 'batch'),
]

export const TOKEN_PERMISSIONS = [
  P('create', 'serviceaccounts', 'mint the ingestor token', '', 'token'),
  P('list', 'secrets', 'read the legacy ingestor token Secret'),
]

export function describePermission(p: Permission): string {
  const res = p.subresource ? `${p.resource}/${p.subresource}` : p.resource
  return `${p.verb} ${p.group ? `${res}.${p.group}` : res}`
}

export async function checkPermissions(t: ClusterTarget, namespace: string, perms: Array<Permission & {purpose: string}>, signal?: AbortSignal): Promise<PermissionCheck[]> {
  return Promise.all(
    perms.map(async (p) => {
      try {
        const r = await withApiRetry(
          () =>
            t.authz.createSelfSubjectAccessReview({
              body: {spec: {resourceAttributes: {namespace, verb: p.verb, group: p.group, resource: p.resource, subresource: p.subresource}}},
            }),
          {signal},
        )
        return {...p, allowed: Boolean(r.status?.allowed) && !r.status?.denied}
      } catch (error) {
        const f = apiFailure(error)
        throw new CliError(`checking permission "${describePermission(p)}": ${f.message}`, {exitCode: ExitCode.LOCAL_ENV, reason: 'rbac_check_failed'})
      }
    }),
  )
}

/** Throws one error naming every missing verb and the Role rule that would fix it. */
export function requirePermissions(namespace: string, checks: PermissionCheck[]): void {
  const missing = checks.filter((c) => !c.allowed)
  const token = checks.filter((c) => c.resource === 'serviceaccounts' || c.resource === 'secrets')
  const tokenOk = token.length === 0 || token.some((c) => c.allowed)
  const blocking = missing.filter((c) => !(c.resource === 'serviceaccounts' || c.resource === 'secrets'))
  if (!tokenOk) blocking.push(...token)
  if (blocking.length === 0) return
  throw permissionDenied(namespace, blocking, exitCodeFor(blocking))
}

/** The error for missing permissions: every one named with its purpose, and the `kubectl auth can-i` to check. */
export function permissionDenied(namespace: string, missing: PermissionCheck[], exitCode: number): CliError {
  const first = missing[0]
  const where = namespace ? `in namespace "${namespace}"` : 'in all namespaces'
  const resource = first.group ? `${first.resource}.${first.group}` : first.resource
  return new CliError(`your user lacks permission ${where}: ${missing.map((c) => `${describePermission(c)} (to ${c.purpose})`).join('; ')}`, {
    exitCode,
    hint: `ask a cluster admin to grant these verbs in a Role bound to you (check with: kubectl auth can-i ${first.verb} ${resource}${first.subresource ? ` --subresource=${first.subresource}` : ''} ${namespace ? `-n ${namespace}` : '-A'})`,
    reason: 'rbac_denied',
  })
}

/** The exit code of the earliest pipeline step that would have failed: stage (7), token (5), port-forward (8), watch (9). */
export function exitCodeFor(blocking: PermissionCheck[]): number {
  const has = (pred: (c: PermissionCheck) => boolean) => blocking.some(pred)
  if (has((c) => c.resource === 'pods' && (!c.subresource || c.subresource === 'exec') && c.purpose !== 'find jobs-manager and ingestor pods')) return ExitCode.STAGING
  if (has((c) => c.resource === 'serviceaccounts' || c.resource === 'secrets')) return ExitCode.AUTH
  if (has((c) => c.subresource === 'portforward' || c.purpose === 'find jobs-manager and ingestor pods')) return ExitCode.SUBMIT
  return ExitCode.JOB
}
