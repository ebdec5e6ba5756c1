import {parentPort, workerData} from 'node:worker_threads'

const {module, name, args} = workerData as {module: string; name: string; args: unknown[]}
try {
  const mod = (await import(module)) as Record<string, (...a: unknown[]) => unknown>
  parentPort!.postMessage({ok: true, value: await mod[name]!(...args)})
} catch (error) {
  parentPort!.postMessage({ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error)})
}
