// SIGINT and SIGTERM at several points of each phase: exit 130, no stage pod and no scratch directory
// left in the cluster; after the submit an interrupt only stops watching.
import assert from 'node:assert/strict'
import {test} from 'node:test'

import {CATS_DOGS, leftovers, runCli, sandboxPerFile} from './push-cli.js'

const sandbox = sandboxPerFile()
let n = 0

// [when, send the signal once the output shows…, faults that hold the run in that phase, output that must NOT appear]
const points: Array<[string, (out: string) => boolean, Record<string, unknown>, RegExp]> = [
  ['while connecting', (o) => o.includes('checking permissions'), {apiErrorBurst: {count: 4, status: 503, retryAfterSeconds: 1, pathIncludes: 'selfsubjectaccessreviews'}}, /Connected to release/],
  ['while the stage pod starts', (o) => o.includes('waiting for stage pod'), {stuckPending: 'tracebloc-stage'}, /Staged \d+ files/],
  ['mid-copy', (o) => /\d+\/7 files/.test(o), {execBytesPerSecond: 40_000}, /Staged \d+ files/],
  ['while submitting', (o) => o.includes('retrying with the same idempotency key'), {submitErrorBurst: {count: 3, status: 503}}, /Submitted: Job/],
]

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  for (const [when, cond, faults, notYet] of points) {
    test(`${sig} ${when} → exit 130, nothing left behind`, async () => {
      const sb = sandbox()
      sb.faults.clear()
      sb.faults.set(structuredClone(faults)) // counted faults are consumed in place
      const r = await runCli(['dataset', 'push', CATS_DOGS, '--table', `cats_sig_${++n}`, '--category', 'image_classification', '--label-column', 'label', '--kubeconfig', sb.kubeconfigPath], {
        interrupt: {signal: sig, when: cond},
        env: {TRACEBLOC_STAGE_POD_TIMEOUT: '20'},
      })
      sb.faults.clear()
      assert.equal(r.code, 130, r.stdout + r.stderr)
      assert.doesNotMatch(r.stdout, notYet, 'the signal must land in the phase under test')
      assert.deepEqual(leftovers(sb), {pods: [], scratch: []})
    })
  }
}

test('SIGINT while watching detaches: exit 130, the Job keeps running, how to follow it is printed', async () => {
  const sb = sandbox()
  sb.faults.clear()
  sb.faults.set({ingestor: 'slow'})
  const r = await runCli(['dataset', 'push', CATS_DOGS, '--table', `cats_sig_${++n}`, '--category', 'image_classification', '--label-column', 'label', '--kubeconfig', sb.kubeconfigPath], {
    interrupt: {signal: 'SIGINT', when: (o) => o.includes('Watch the ingestion') && o.includes('following logs')},
  })
  sb.faults.clear()
  assert.equal(r.code, 130, r.stdout + r.stderr)
  assert.match(r.stdout + r.stderr, /keeps running/)
  assert.match(r.stdout + r.stderr, /kubectl logs -f -n tracebloc job\/ingest-job-/)
  assert.deepEqual(leftovers(sb), {pods: [], scratch: []})
})
