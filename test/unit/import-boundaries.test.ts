// The import-boundary lint rule (eslint.config.js LAYERS): a folder of src/lib imports only folders on a
// lower line, in every form an import can take; the real tree passes it.
import assert from 'node:assert/strict'
import path from 'node:path'
import {test} from 'node:test'
import {fileURLToPath} from 'node:url'

import {ESLint} from 'eslint'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const eslint = new ESLint({cwd: root})

async function boundaryErrors(file: string, code: string): Promise<string[]> {
  const [r] = await eslint.lintText(code, {filePath: path.join(root, file)})
  return r.messages.filter((m) => m.ruleId === 'tracebloc/import-boundaries').map((m) => m.message)
}

test('an upward import is an error in every form: import, re-export, import(), import type', async () => {
  const forms = [
    "import {x} from '../pipeline/context.js'\nexport const y = x",
    "export {x} from '../pipeline/context.js'",
    "export const f = async () => import('../pipeline/context.js')",
    "export type T = import('../pipeline/context.js').PushContext",
  ]
  for (const code of forms) {
    const errors = await boundaryErrors('src/lib/cluster/example.ts', code)
    assert.equal(errors.length, 1, code)
    assert.match(errors[0], /lib\/cluster may not import lib\/pipeline/)
  }
})

test('same line and own folder: a sideways import is an error, a downward one and one inside the folder are not', async () => {
  assert.match((await boundaryErrors('src/lib/catalog/example.ts', "import {x} from '../runs/jobs.js'\nexport const y = x"))[0], /lib\/catalog may not import lib\/runs/)
  assert.deepEqual(await boundaryErrors('src/lib/catalog/example.ts', "import {x} from '../pvc/paths.js'\nimport {z} from './names.js'\nexport const y = [x, z]"), [])
  assert.deepEqual(await boundaryErrors('src/lib/pipeline/steps/example.ts', "import {x} from '../../probe/probe.js'\nexport const y = x"), [])
})

test('the library never imports a command; an unknown folder must be placed first', async () => {
  assert.match((await boundaryErrors('src/lib/runs/example.ts', "import x from '../../commands/dataset/logs.js'\nexport const y = x"))[0], /may not import src\/commands/)
  assert.match((await boundaryErrors('src/lib/newthing/example.ts', "import {x} from '../output/errors.js'\nexport const y = x"))[0], /src\/lib\/newthing is not in the import layers/)
})

test('the source tree keeps the layers', async () => {
  const results = await eslint.lintFiles(['src/lib/**/*.ts'])
  const errors = results.flatMap((r) => r.messages.filter((m) => m.ruleId === 'tracebloc/import-boundaries').map((m) => `${path.relative(root, r.filePath)}:${m.line} ${m.message}`))
  assert.deepEqual(errors, [])
})
