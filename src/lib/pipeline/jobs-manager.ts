// jobs-manager is reached through a port-forward on 127.0.0.1. Any local process can use that port while
// it is open, so it is opened only around each exchange (the schema check, the submit) and closed
// right after, never left open across the upload.
import {signalPoint, throwIfInterrupted} from '../process/signals.js'
import {JOBS_MANAGER_PORT} from '../cluster/discovery.js'
import {openPortForward} from '../cluster/portforward.js'
import type {PushContext} from './context.js'

/** Runs `fn` with jobs-manager's base URL; the port-forward exists only for its duration. */
export async function withJobsManager<T>(c: PushContext, signal: AbortSignal, fn: (baseUrl: string) => Promise<T>): Promise<T> {
  const pf = await openPortForward(c.target!, c.release!.namespace, c.jobsManagerPod!, JOBS_MANAGER_PORT)
  // kept in the context so a cleanup that runs meanwhile (a signal) closes it too
  c.portForward = pf
  try {
    throwIfInterrupted(signal)
    await signalPoint('port-forward')
    throwIfInterrupted(signal)
    return await fn(pf.baseUrl)
  } finally {
    await pf.close().catch(() => undefined)
    if (c.portForward === pf) c.portForward = undefined
  }
}
