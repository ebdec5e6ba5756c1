// What every handler of the API server shares.
import type {Faults} from '../faults.js'
import type {PodRuntime, Store} from '../types.js'
import type {TokenIssuer} from './tokens.js'

export interface ServerContext {
  store: Store
  runtime: PodRuntime
  faults: Faults
  issuer: TokenIssuer
  /** static bearer token → user name */
  users: Map<string, string>
  version: {major: string; minor: string}
  bookmarkIntervalMs: number
  /** Timers and streams to cancel on close(). */
  closers: Set<() => void>
}

/** A parsed resource URL: /api/v1/namespaces/ns/pods/name/sub or /apis/g/v/... */
export interface ResourceRequest {
  group: string
  version: string
  namespace?: string
  resource: string
  name?: string
  subresource?: string
}
