// Every named point of the push pipeline (TRACEBLOC_TEST_SIGNAL_AT) × SIGINT and SIGTERM, and what the
// run must end in there: before the submit an interrupted push exits 130/143 and says where it stands;
// after the submit it stops watching (the ingestion keeps running); once the run has succeeded a signal
// cannot undo it (exit 0). A second signal (point pairs) still removes the stage pod.
export interface SignalCase {
  name: string
  /** TRACEBLOC_TEST_SIGNAL_AT */
  at: string
  code: number
  message: RegExp
  /** sandbox faults needed to reach the point */
  faults?: Record<string, unknown>
}

const BEFORE_SUBMIT = ['validate', 'connect', 'port-forward', 'stage', 'stage-pod', 'transfer', 'submit'] as const
const where: Record<string, RegExp> = {
  validate: /during local validation: nothing was sent/,
  connect: /while connecting to the cluster: nothing was sent/,
  'port-forward': /while connecting to the cluster: nothing was sent/,
  stage: /while staging: the stage pod was removed/,
  'stage-pod': /while staging: the stage pod was removed/,
  transfer: /while staging: the stage pod was removed/,
  submit: /while submitting: .*--idempotency-key [0-9a-f]{32}/s,
  'submit-retry': /while submitting: .*--idempotency-key [0-9a-f]{32}/s,
}
const code = (sig: string) => (sig === 'SIGTERM' ? 143 : 130)

export const SIGNAL_CASES: SignalCase[] = []
for (const sig of ['SIGINT', 'SIGTERM']) {
  for (const p of BEFORE_SUBMIT) SIGNAL_CASES.push({name: `${sig} at ${p}`, at: `${p}:${sig}`, code: code(sig), message: new RegExp(`Interrupted \\(${sig}\\) ${where[p]!.source}`, 's')})
  for (const p of ['watch', 'logs']) SIGNAL_CASES.push({name: `${sig} at ${p}`, at: `${p}:${sig}`, code: code(sig), message: /Stopped watching — the ingestion keeps running/})
  for (const p of ['cleanup', 'reclaim']) SIGNAL_CASES.push({name: `${sig} at ${p} after a successful run`, at: `${p}:${sig}`, code: 0, message: new RegExp(`^(?=[\\s\\S]*Ingestion complete)[\\s\\S]*interrupted \\(${sig}\\) after the run succeeded: kept the staged copy`)})
}
// a second signal: best-effort stage pod delete, then exit with the first signal's code
SIGNAL_CASES.push(
  {name: 'SIGINT mid-transfer, then SIGINT again', at: 'transfer,cleanup', code: 130, message: /Received SIGINT again: removing the stage pod/},
  {name: 'SIGTERM while the stage pod starts, then SIGTERM again', at: 'stage-pod:SIGTERM,cleanup:SIGTERM', code: 143, message: /Received SIGTERM again/},
  {name: 'SIGINT while following logs, then SIGTERM', at: 'logs,cleanup:SIGTERM', code: 130, message: /Received SIGTERM again/},
)

// the last-resort guard: an uncaught exception or unhandled rejection mid-run is one line, exit 1, and the
// cleanup still runs (the stage pod goes)
SIGNAL_CASES.push(
  {name: 'uncaught exception while staging', at: 'transfer:CRASH', code: 1, message: /^unexpected error: test crash at transfer — this is a bug; rerun with --verbose and report it$/m},
  {name: 'unhandled rejection while the stage pod starts', at: 'stage-pod:REJECT', code: 1, message: /^unexpected error: test rejection at stage-pod — this is a bug; rerun with --verbose and report it$/m},
)

/** Cases that need submit retries (a fault every run of the sandbox would see): run alone. */
export const SUBMIT_RETRY_CASES: SignalCase[] = ['SIGINT', 'SIGTERM'].map((sig) => ({
  name: `${sig} during submit retries`,
  at: `submit-retry:${sig}`,
  code: code(sig),
  message: new RegExp(`Interrupted \\(${sig}\\) ${where['submit-retry']!.source}`, 's'),
  faults: {submitErrorBurst: {count: 1, status: 503}},
}))

export const SIGNAL_CASE_COUNT = SIGNAL_CASES.length + SUBMIT_RETRY_CASES.length
