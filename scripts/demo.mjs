// `npm run demo` (README); the demo itself is scripts/run-demo.mjs. This entry only sets up first
// (scripts/bootstrap.cjs: a supported Node, the dependencies), so it must stay parseable by old
// Node: nothing newer than `createRequire` and top-level await here.
import {createRequire} from 'node:module'

if (createRequire(import.meta.url)('./bootstrap.cjs').ensureReady()) await import('./run-demo.mjs')
