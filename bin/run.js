#!/usr/bin/env node
// Production entry point. The compile cache trims ~10-20% off cold start on Node >= 22.1.
import module from 'node:module'
module.enableCompileCache?.()
// Fast start: plain `ingest validate …` and `version` are answered without importing oclif
// (src/lib/fast/entry.ts); everything else goes through oclif.
const {runFast} = await import('../dist/lib/fast/entry.js')
if (!(await runFast(process.argv.slice(2), new URL('..', import.meta.url)))) {
  const {execute} = await import('@oclif/core')
  await execute({dir: import.meta.url})
}
