// Preload (node --import) that appends every module URL the process loads to $RECORD_IMPORTS_FILE.
// Used to prove fast-start commands never load heavy dependencies.
import {appendFileSync} from 'node:fs'
import module from 'node:module'

const out = process.env.RECORD_IMPORTS_FILE
if (out && module.registerHooks) {
  module.registerHooks({
    resolve(specifier, context, nextResolve) {
      const r = nextResolve(specifier, context)
      appendFileSync(out, r.url + '\n')
      return r
    },
  })
}
