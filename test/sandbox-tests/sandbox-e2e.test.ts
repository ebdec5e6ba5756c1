// Acceptance test: an ingestion done by hand with kubectl 1.32 only — stage pod, `kubectl cp`
// of the cats/dogs sample, `kubectl create token ingestor`, `kubectl port-forward svc/jobs-manager` + an
// HTTP POST, then `kubectl wait` for the Job and `kubectl logs` showing the banner with 576 rows.
import assert from 'node:assert/strict'
import {execFile, spawn} from 'node:child_process'
import * as fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, before, test} from 'node:test'
import {findKubectl} from '../helpers/tools.js'
import {startSandbox, type Sandbox} from '../sandbox/index.js'

const kubectl132 = findKubectl()
const KUBECTL = 'bin' in kubectl132 ? kubectl132.bin : 'kubectl'
const SAMPLE = 'test/fixtures/reference/samples/image_classification/data'
let sb: Sandbox
let home: string

before(async () => {
  sb = await startSandbox()
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'kubectl-home-'))
})
after(async () => {
  await sb?.stop()
  fs.rmSync(home, {recursive: true, force: true})
})

function kubectl(args: string[], input?: string): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    const p = execFile(KUBECTL, ['--kubeconfig', sb.kubeconfigPath, ...args], {env: {HOME: home, PATH: process.env.PATH}, maxBuffer: 1 << 24}, (err, stdout, stderr) => {
      resolve({code: err ? Number((err as NodeJS.ErrnoException & {code?: unknown}).code ?? 1) || 1 : 0, stdout, stderr})
    })
    if (input !== undefined) p.stdin!.end(input)
  })
}

const STAGE_POD = `apiVersion: v1
kind: Pod
metadata: {name: stage-by-hand}
spec:
  restartPolicy: Never
  activeDeadlineSeconds: 1800
  securityContext: {runAsUser: 65532, fsGroup: 65532, runAsNonRoot: true}
  containers:
  - name: stage
    image: alpine:3.20@sha256:d9e853e87e55526f6b2917df91a2115c36dd7c696a35be12163d44e6e2a4b6bc
    command: ["/bin/sleep", "1800"]
    securityContext: {readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
    volumeMounts: [{name: shared, mountPath: /data/shared}, {name: tmp, mountPath: /tmp}]
  volumes:
  - {name: shared, persistentVolumeClaim: {claimName: client-pvc}}
  - {name: tmp, emptyDir: {}}
`

const INGEST_YAML = `apiVersion: tracebloc.io/v1
kind: IngestConfig
category: image_classification
table: cats_dogs_by_hand
intent: train
csv: /data/shared/.tracebloc-staging/cats_dogs_by_hand/labels.csv
images: /data/shared/.tracebloc-staging/cats_dogs_by_hand/images/
label: label
`

test('scripted ingestion with kubectl only ends with the banner showing 576 rows', {skip: 'skip' in kubectl132 ? kubectl132.skip : false}, async () => {
  const ok = (r: {code: number; stderr: string}) => assert.equal(r.code, 0, r.stderr)
  ok(await kubectl(['create', '-f', '-'], STAGE_POD))
  ok(await kubectl(['wait', '--for=condition=Ready', 'pod/stage-by-hand', '--timeout=30s']))
  const dir = '/data/shared/.tracebloc-staging/cats_dogs_by_hand'
  ok(await kubectl(['exec', 'stage-by-hand', '--', 'mkdir', '-p', dir]))
  ok(await kubectl(['cp', `${SAMPLE}/images`, `stage-by-hand:${dir}/images`]))
  ok(await kubectl(['cp', `${SAMPLE}/labels_file_sample.csv`, `stage-by-hand:${dir}/labels.csv`]))
  const listed = await kubectl(['exec', 'stage-by-hand', '--', 'sh', '-c', `ls ${dir}/images | wc -l; wc -l < ${dir}/labels.csv`])
  assert.deepEqual(listed.stdout.trim().split(/\s+/), ['6', '576'])

  const token = (await kubectl(['create', 'token', 'ingestor'])).stdout.trim()
  assert.match(token, /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/)

  const pf = spawn(KUBECTL, ['--kubeconfig', sb.kubeconfigPath, 'port-forward', 'svc/jobs-manager', ':8080'], {env: {HOME: home, PATH: process.env.PATH}})
  let port: number
  try {
    port = await new Promise<number>((resolve, reject) => {
      let out = ''
      pf.stdout.on('data', (b: Buffer) => {
        out += b
        const m = /Forwarding from 127\.0\.0\.1:(\d+) -> 8080/.exec(out)
        if (m) resolve(Number(m[1]))
      })
      pf.on('exit', (code) => reject(new Error(`port-forward exited ${code}`)))
    })
    const res = await fetch(`http://127.0.0.1:${port}/internal/submit-ingestion-run`, {
      method: 'POST',
      headers: {authorization: `Bearer ${token}`, 'content-type': 'application/json'},
      body: JSON.stringify({ingest_config: INGEST_YAML, idempotency_key: 'by-hand-1'}),
    })
    const body = (await res.json()) as {job_name: string; namespace: string; replay: boolean}
    assert.equal(res.status, 201, JSON.stringify(body))
    assert.equal(body.namespace, 'tracebloc')
    assert.equal(body.replay, false)

    ok(await kubectl(['wait', '--for=condition=complete', `job/${body.job_name}`, '--timeout=60s']))
    const logs = await kubectl(['logs', '-l', 'tracebloc.io/ingestion-run=by-hand-1', '--tail=-1'])
    ok(logs)
    const plain = logs.stdout.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '')
    assert.match(plain, /📊 INGESTION SUMMARY 📊/)
    assert.match(plain, /📈 Total Records Found: {5}576\n/)
    assert.match(plain, /💾 Inserted to Database: {4}576\n/)
    assert.match(plain, /🎉 Ingestion completed successfully!/)
    assert.equal(fs.readdirSync(path.join(sb.pvcDir, 'cats_dogs_by_hand')).length, 6)
  } finally {
    pf.kill()
  }
})
