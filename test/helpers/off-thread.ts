// Runs a named scenario (an exported async function of a test-side module) on a worker thread. A
// catastrophic regex blocks the thread it runs on, and node:test's timeout cannot fire on a blocked
// thread: off the test's thread, the test's timeout is a real hang guard.
import {Worker} from 'node:worker_threads'

/** `signal`: the test's (t.signal), aborted when the test times out: the spinning worker is then stopped. */
export async function offThread<T>(signal: AbortSignal, moduleUrl: URL, name: string, args: unknown[] = []): Promise<T> {
  // under tsx the worker inherits --import tsx, so it can load the .ts scenario module
  const w = new Worker(new URL('off-thread-worker.ts', import.meta.url), {workerData: {module: moduleUrl.href, name, args}})
  w.unref()
  const stop = () => void w.terminate()
  signal.addEventListener('abort', stop, {once: true})
  try {
    return await new Promise<T>((resolve, reject) => {
      w.once('message', (m: {ok: boolean; value?: T; error?: string}) => (m.ok ? resolve(m.value as T) : reject(new Error(m.error))))
      w.once('error', reject)
      w.once('exit', () => reject(new Error('the worker stopped before answering')))
    })
  } finally {
    signal.removeEventListener('abort', stop)
    await w.terminate()
  }
}

