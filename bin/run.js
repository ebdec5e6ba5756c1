#!/usr/bin/env node
// Production entry point. The compile cache trims ~10-20% off cold start on Node >= 22.1.
import module from 'node:module'
module.enableCompileCache?.()
const {execute} = await import('@oclif/core')
await execute({dir: import.meta.url})
