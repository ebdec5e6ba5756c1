// Parity oracle: the Go CLI's 73 preflight cases (docs/protocol.md#parity-cases) with the real ingestor's verdicts.
// Every case must produce its `cli_verdict` (accept = planDataset resolves, reject = CliError),
// except the cases listed in BETTER_THAN_GO, where we deliberately follow the ingestor instead.
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {planDataset, type PlanOptions} from '../../src/lib/local/index.js'
import {CliError} from '../../src/lib/output/errors.js'

const ROOT = 'test/fixtures/reference/parity'

interface Case {
  name: string
  category: string
  csv: string
  label_column?: string
  extension?: string
  target_size?: [number, number]
  min_size?: [number, number]
  schema?: Record<string, string>
  cli_verdict: 'accept' | 'reject'
  ingestor_verdict: 'accept' | 'reject'
}

/**
 * Cases where the Go CLI accepts data the real ingestor rejects (its preflight under-previews,
 * docs/protocol.md#parity-cases). Uploading a dataset the cluster will refuse wastes the user's time, so we
 * preview these validators and reject locally — the verdict equals `ingestor_verdict`.
 */
const BETTER_THAN_GO: Record<string, string> = {
  'objdet-bad-xml': 'PascalVOCXMLValidator: missing <size>/<source>, xmin >= xmax — previewed locally',
  'kp-bad-annotation': 'KeypointAnnotationValidator: Annotation cell is not JSON — previewed locally',
  'token-clf-bad-bio': 'BIOLabelValidator: "PERSON" is not a BIO tag — previewed locally',
  'sentpair-malformed': 'SentencePairValidator: record has 1 field, not text_a<TAB>text_b (the Go walk rejects it too; only its harness accepts)',
  'emb-malformed': 'ContrastivePairsValidator: record has 1 field (the Go walk rejects it too; only its harness accepts)',
  'mlm-missing-files': 'IngestableRecordsValidator: referenced sequence files absent — we check referenced files exist for every family',
  'tsf-unsorted-time': 'TimeOrderedValidator: timestamp not ascending — previewed locally',
  'tsf-missing-timestamp': 'TimeFormatValidator: schema has no timestamp column — previewed locally',
  'tte-negative-time': 'TimeToEventValidator: negative time — previewed locally',
}

const cases = (JSON.parse(readFileSync(path.join(ROOT, 'cases.json'), 'utf8')) as {cases: Case[]}).cases
const goldens = (JSON.parse(readFileSync(path.join(ROOT, 'goldens.json'), 'utf8')) as {verdicts: Record<string, {verdict: string}>}).verdicts

function optionsFor(c: Case): PlanOptions {
  const o: PlanOptions = {path: path.join(ROOT, 'cases', c.name), table: c.name.replace(/-/g, '_'), category: c.category}
  if (c.label_column !== undefined) o.labelColumn = c.label_column
  if (c.target_size) o.targetSize = c.target_size
  if (c.min_size) o.minSize = c.min_size
  if (c.schema) o.schema = c.schema
  if (c.category === 'keypoint_detection') o.numberOfKeypoints = 2 // the fixtures annotate nose + tail
  return o
}

test('the oracle has 73 cases and goldens for each', () => {
  assert.equal(cases.length, 73)
  for (const c of cases) assert.equal(goldens[c.name]?.verdict, c.ingestor_verdict, c.name)
  for (const name of Object.keys(BETTER_THAN_GO)) {
    const c = cases.find((x) => x.name === name)!
    assert.ok(c.cli_verdict === 'accept' && c.ingestor_verdict === 'reject', `${name} must be a Go under-preview`)
  }
})

for (const c of cases) {
  const expected = BETTER_THAN_GO[c.name] ? c.ingestor_verdict : c.cli_verdict
  test(`parity ${c.name}: ${expected}${BETTER_THAN_GO[c.name] ? ' (ingestor verdict; Go CLI accepts)' : ''}`, async () => {
    let verdict: 'accept' | 'reject' = 'accept'
    let why = ''
    try {
      await planDataset(optionsFor(c))
    } catch (err) {
      assert.ok(err instanceof CliError, `${c.name}: unexpected ${String(err)}`)
      assert.ok(err.exitCode === 2 || err.exitCode === 3, `${c.name}: exit ${err.exitCode}`)
      verdict = 'reject'
      why = err.message
    }
    assert.equal(verdict, expected, `${c.name}: ${why}`)
  })
}
