// Runs the generated attacks (regex-attacks.ts) of each regex in turn, posting the index before each one,
// so that the test that started it can name the regex a hang guard stopped.
import {parentPort, workerData} from 'node:worker_threads'

import {attacks} from './regex-attacks.js'

const {regexes, size} = workerData as {regexes: Array<[string, string]>; size: number}
for (const [i, [source, flags]] of regexes.entries()) {
  parentPort!.postMessage({start: i})
  const re = new RegExp(source, flags)
  // replace walks the whole input as the code's global replaces and failing tests do
  for (const attack of attacks(source, size)) attack.replace(re, '')
}
parentPort!.postMessage({done: true})
