// SIGTERM while `dataset push` validates a large CSV locally: the process acts on it at once — the
// documented exit code and message — instead of after the local checks finish. The CSV's first rows hold
// cells that used to keep one check busy for many minutes on the main thread, where no signal handler
// can run; the rest of the file keeps validation going long enough for the signal to land in it.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {closeSync, mkdtempSync, openSync, rmSync, writeSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {after, test} from 'node:test'

import {assertBuilt, bin, root} from './cli.js'

assertBuilt()
const dir = mkdtempSync(path.join(tmpdir(), 'tb-sigval-'))
after(() => rmSync(dir, {recursive: true, force: true}))

test('SIGTERM during local validation of a large CSV exits 143 with the validation message', {timeout: 120_000}, async (t) => {
  // ~36 MB: every MiB holds a quoted 200 000-digit cell in the FLOAT column (about 40 s each for the old number pattern)
  const csv = path.join(dir, 'big.csv')
  const fd = openSync(csv, 'w')
  writeSync(fd, 'a,b,c,y\n')
  const rows = '1.5,2,hello world,3\n'.repeat(50_000)
  for (let i = 0; i < 30; i++) writeSync(fd, rows + `"${'1'.repeat(200_000)}x",2,w,3\n`)
  closeSync(fd)

  const child = spawn(process.execPath, [bin, 'dataset', 'push', csv, '--table', 't', '--category', 'tabular_regression', '--label-column', 'y', '--dry-run', '--kubeconfig', path.join(dir, 'none')], {
    cwd: root,
    env: {
      ...process.env,
      NO_COLOR: '1',
      TRACEBLOC_SKIP_NEW_VERSION_CHECK: 'true',
      // one thread: the checks run on the thread that must also take the signal
      TRACEBLOC_CSV_WORKERS: '1',
      // SIGTERM once the first MiB of rows has been checked, with the rest still to check
      TRACEBLOC_TEST_SIGNAL_AT: 'csv-chunk:SIGTERM',
    },
  })
  // a CLI that never acts on the signal is stopped when the test times out
  t.signal.addEventListener('abort', () => child.kill('SIGKILL'), {once: true})
  let out = ''
  child.stdout.on('data', (b: Buffer) => (out += b.toString()))
  child.stderr.on('data', (b: Buffer) => (out += b.toString()))
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)))
  assert.equal(code, 143, out)
  assert.match(out, /Interrupted \(SIGTERM\) during local validation: nothing was sent to the cluster\./)
  assert.doesNotMatch(out, /Validated \d+ rows|\n\s+at /)
})
