// The watch step against the sandbox: a Job that retries creates a replacement pod, and the watcher
// follows its logs too (the Go CLI followed only the first pod).
import assert from 'node:assert/strict'
import {test} from 'node:test'

import {loadClusterTarget} from '../../src/lib/cluster/kube.js'
import {watchIngestionJob} from '../../src/lib/watch/follow.js'
import {sandboxPerFile} from './push-cli.js'

const sandbox = sandboxPerFile()

test('a retried Job: both pods are followed, their logs streamed in order, the outcome comes from the Job', async () => {
  const sb = sandbox()
  const t = await loadClusterTarget({kubeconfig: sb.kubeconfigPath})
  await t.batch.createNamespacedJob({
    namespace: sb.namespace,
    body: {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {name: 'retrying-job'},
      spec: {
        backoffLimit: 1,
        template: {
          spec: {
            restartPolicy: 'Never',
            containers: [{name: 'main', image: 'alpine:3.20', command: ['/bin/sh', '-c', 'echo "attempt on $(hostname)"; echo "Ingestion failed: boom" >&2; exit 1']}],
          },
        },
      },
    },
  })
  const lines: Array<[string, string]> = []
  const outcome = await watchIngestionJob(t, {namespace: sb.namespace, jobName: 'retrying-job', pollMs: 200, podStartTimeoutMs: 20_000, onLine: (l, pod) => lines.push([pod, l])})
  assert.equal(outcome.job, 'Failed')
  assert.equal(outcome.pods.length, 2, `followed: ${outcome.pods.join(', ')}`)
  assert.equal(outcome.notStarted, undefined)
  for (const pod of outcome.pods) assert.ok(lines.some(([p, l]) => p === pod && l === `attempt on ${pod}`), `logs of ${pod}: ${JSON.stringify(lines)}`)
  assert.ok(outcome.failureLines.some((l) => l.includes('Ingestion failed: boom')))
})
