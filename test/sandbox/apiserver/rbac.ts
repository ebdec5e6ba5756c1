// RBAC emulation for the sandbox's fixed users. Enforcement (403) and SelfSubjectAccessReview
// both ask `authorize`, so they can never disagree.
import {StatusError} from '../types.js'

export interface Attributes {
  verb: string
  group: string
  resource: string
  subresource?: string
  namespace?: string
  name?: string
}

export interface Decision {
  allowed: boolean
  reason: string
}

export const STATIC_USERS = ['admin', 'no-token-request', 'no-exec', 'reader'] as const

const READ_VERBS = new Set(['get', 'list', 'watch'])
/** What Kubernetes' built-in `view` ClusterRole leaves out: Secrets (reading one can hand out a token). */
const NOT_IN_VIEW = new Set(['secrets'])
/** Subresources that open a process or a socket in the pod: never part of a read-only role. */
const STREAMING = new Set(['pods/exec', 'pods/portforward', 'pods/attach', 'services/proxy', 'pods/proxy'])

export function authorize(user: string, a: Attributes): Decision {
  const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource
  const grant = (binding: string, role: string): Decision => ({
    allowed: true,
    reason: `RBAC: allowed by ClusterRoleBinding "${binding}" of ClusterRole "${role}" to User "${user}"`,
  })
  const deny: Decision = {allowed: false, reason: ''}
  // Every authenticated user may ask what it may do (system:basic-user).
  if (a.group === 'authorization.k8s.io' && a.resource === 'selfsubjectaccessreviews' && a.verb === 'create') return grant('system:basic-user', 'system:basic-user')
  switch (user) {
    case 'admin':
      return grant('sandbox-admin', 'cluster-admin')
    case 'no-token-request':
      return res === 'serviceaccounts/token' ? deny : grant('sandbox-no-token-request', 'sandbox-edit-no-token')
    case 'no-exec':
      return res === 'pods/exec' ? deny : grant('sandbox-no-exec', 'sandbox-edit-no-exec')
    case 'reader':
      return READ_VERBS.has(a.verb) && !STREAMING.has(res) && !(a.group === '' && NOT_IN_VIEW.has(res)) ? grant('sandbox-reader', 'view') : deny
    default:
      // ServiceAccount tokens authenticate but hold no roles here.
      return deny
  }
}

/** The 403 the real API server writes, e.g. `pods "x" is forbidden: User "reader" cannot create resource "pods" in API group "" in the namespace "tracebloc"`. */
export function forbidden(user: string, a: Attributes): StatusError {
  const qualified = a.group ? `${a.resource}.${a.group}` : a.resource
  const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope'
  const subject = a.name ? `${qualified} "${a.name}"` : qualified
  return new StatusError(403, 'Forbidden', `${subject} is forbidden: User "${user}" cannot ${a.verb} resource "${res}" in API group "${a.group}" ${scope}`, {
    ...(a.name ? {name: a.name} : {}),
    ...(a.group ? {group: a.group} : {}),
    kind: a.resource,
  })
}
