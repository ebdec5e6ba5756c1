// submitIngestion against a real local HTTP server: status mapping, same-key retries, body shape.
import assert from 'node:assert/strict'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import {after, before, test} from 'node:test'

import {CliError} from '../../src/lib/output/errors.js'
import {buildSubmitBody, submitIngestion} from '../../src/lib/submit/submit.js'

let server: http.Server
let base = ''
let script: Array<{status: number; body: string; headers?: Record<string, string>}> = []
const seen: Array<{auth?: string; type?: string; body: any}> = []

before(async () => {
  server = http.createServer((req, res) => {
    let data = ''
    req.on('data', (c) => (data += c))
    req.on('end', () => {
      seen.push({auth: req.headers.authorization, type: req.headers['content-type'], body: JSON.parse(data)})
      const next = script.shift() ?? {status: 500, body: 'script exhausted'}
      res.writeHead(next.status, {'content-type': 'application/json', ...next.headers})
      res.end(next.body)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
after(() => new Promise<void>((r) => server.close(() => r())))

const body = buildSubmitBody('apiVersion: tracebloc.io/v1\n', 'k1')

test('body has exactly ingest_config and idempotency_key; image_digest only when pinned', () => {
  assert.deepEqual(Object.keys(body).sort(), ['idempotency_key', 'ingest_config'])
  assert.equal(buildSubmitBody('x', 'k', 'sha256:' + 'a'.repeat(64)).image_digest, 'sha256:' + 'a'.repeat(64))
})

test('201 → new run; headers are exactly Bearer + JSON', async () => {
  seen.length = 0
  script = [{status: 201, body: JSON.stringify({job_name: 'ingest-job-abc', namespace: 'tracebloc', replay: false})}]
  const r = await submitIngestion({baseUrl: base, token: 'tok-123456789', body})
  assert.deepEqual([r.jobName, r.namespace, r.replay, r.status], ['ingest-job-abc', 'tracebloc', false, 201])
  assert.equal(seen[0].auth, 'Bearer tok-123456789')
  assert.equal(seen[0].type, 'application/json')
  assert.deepEqual(seen[0].body, body)
})

test('503 then 429 then 200: retried with the same key, replay attached', async () => {
  seen.length = 0
  script = [
    {status: 503, body: 'busy'},
    {status: 429, body: 'slow down', headers: {'retry-after': '1'}},
    {status: 200, body: JSON.stringify({job_name: 'ingest-job-abc', namespace: 'tracebloc', replay: true})},
  ]
  const retries: string[] = []
  const r = await submitIngestion({baseUrl: base, token: 't', body, onRetry: (w) => retries.push(w)})
  assert.equal(r.replay, true)
  assert.equal(r.attempts, 3)
  assert.deepEqual(retries, ['HTTP 503', 'HTTP 429'])
  assert.deepEqual(new Set(seen.map((s) => s.body.idempotency_key)), new Set(['k1']))
})

for (const [status, exit, reason] of [
  [401, 5, 'submit_auth'],
  [403, 5, 'submit_auth'],
  [409, 8, 'idempotency_conflict'],
  [422, 8, 'submit_rejected'],
] as const) {
  test(`HTTP ${status} → exit ${exit} (${reason}), server detail shown verbatim`, async () => {
    script = [{status, body: JSON.stringify({detail: 'ingest.yaml validation failed:\n  table: 5 is not of type \'string\''})}]
    await assert.rejects(submitIngestion({baseUrl: base, token: 't', body}), (e: CliError) => {
      assert.equal(e.exitCode, exit)
      assert.equal(e.reason, reason)
      if (status === 422) assert.match(e.message, /table: 5 is not of type 'string'/)
      return true
    })
  })
}

test('2xx without job_name is an error, not a success', async () => {
  script = [{status: 201, body: JSON.stringify({namespace: 'x'})}]
  await assert.rejects(submitIngestion({baseUrl: base, token: 't', body}), /lacks job_name/)
})
