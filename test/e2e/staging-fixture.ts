// The set-up the staging e2e files share: one sandbox per file, a scratch folder with the CLI's cache in it,
// faults cleared after each case and, where a file asks, no stage pod left behind by any case.
import assert from 'node:assert/strict'
import {cpSync, mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, afterEach, before} from 'node:test'

import {startSandbox, type Sandbox} from '../sandbox/index.js'
import {CATS_DOGS, leftovers} from './push-cli.js'

/** `ready` receives the sandbox once it runs (before the file's first case). */
export function stagingSetup(prefix: string, ready: (sb: Sandbox) => void, o: {stagePodsGone?: boolean} = {}) {
  const tmp = mkdtempSync(path.join(os.tmpdir(), prefix))
  let sb: Sandbox | undefined
  let n = 0
  before(async () => {
    sb = await startSandbox()
    ready(sb)
  })
  after(async () => {
    await sb?.stop()
    rmSync(tmp, {recursive: true, force: true})
  })
  afterEach(() => {
    sb?.faults.clear()
    if (o.stagePodsGone && sb) assert.deepEqual(leftovers(sb).pods, [], 'stage pods left behind')
  })
  return {
    sandbox: () => sb!,
    tmp,
    /** XDG_CACHE_HOME of the file's CLI runs (hash cache, recent runs). */
    cacheHome: path.join(tmp, 'cache'),
    /** A private, writable copy of the cats/dogs sample. */
    catsDogs: (): string => {
      const dir = path.join(tmp, `ds-${++n}`)
      cpSync(CATS_DOGS, dir, {recursive: true})
      return dir
    },
  }
}
