// Worker thread of the parallel CSV preflight (csv-ranges.ts): checks one byte range per message.
import {parentPort} from 'node:worker_threads'

import {CliError} from '../output/errors.js'
import {checkRange, type RangeJob} from './csv-ranges.js'

parentPort!.on('message', (m: {id: number; job: RangeJob}) => {
  checkRange(m.job).then(
    (outcome) => parentPort!.postMessage({id: m.id, outcome}),
    // a CliError keeps its exit code, reason and hint across the thread boundary
    (error: unknown) => parentPort!.postMessage({id: m.id, error: error instanceof Error ? error.message : String(error), cli: error instanceof CliError ? {exitCode: error.exitCode, reason: error.reason, hint: error.hint} : undefined}),
  )
})
