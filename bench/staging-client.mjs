// Child process for bench/staging.mjs: stages one directory into the sandbox's client-pvc with the built
// staging code (dist/), exactly as `dataset push` does (stage pod, stageFiles, delete pod), and prints one
// JSON line with the result, wall times and this process's peak RSS. A separate process so RSS is its own.
//   node bench/staging-client.mjs '{"kubeconfig":…,"dir":…,"table":…,"parallel":2,"compress":"auto"}'
import {readdirSync, statSync} from 'node:fs'
import path from 'node:path'
import {performance} from 'node:perf_hooks'

const a = JSON.parse(process.argv[2])
// a snapshot of dist/ (bench/staging.mjs copies it) so a concurrent `npm run build` cannot pull it away mid-run
const dist = a.dist ?? path.resolve(import.meta.dirname, '../dist')
const {loadClusterTarget} = await import(path.join(dist, 'lib/cluster/kube.js'))
const {HashCache} = await import(path.join(dist, 'lib/staging/hash-cache.js'))
const {buildStagePod, createStagePod, deletePod, stagePodName, waitPodReady} = await import(path.join(dist, 'lib/staging/stage-pod.js'))
const {stageFiles, stagingPaths} = await import(path.join(dist, 'lib/staging/stream.js'))
const ns = a.namespace ?? 'tracebloc'

function walk(dir, rel = '') {
  const out = []
  for (const d of readdirSync(path.join(dir, rel), {withFileTypes: true})) {
    const r = rel ? `${rel}/${d.name}` : d.name
    if (d.isDirectory()) out.push(...walk(dir, r))
    else if (d.isFile()) {
      const st = statSync(path.join(dir, r))
      out.push({localPath: path.join(dir, r), name: r, size: st.size, mtimeMs: st.mtimeMs})
    }
  }
  return out
}

// what the peak RSS is made of: the largest JS heap, external and ArrayBuffer figures seen (sampled)
const mem = {heapUsed: 0, external: 0, arrayBuffers: 0}
const sampler = setInterval(() => {
  const m = process.memoryUsage()
  for (const k of Object.keys(mem)) mem[k] = Math.max(mem[k], m[k])
}, 100)
sampler.unref()
const t0 = performance.now()
const entries = walk(a.dir)
const t = await loadClusterTarget({kubeconfig: a.kubeconfig})
let pod
const startPod = async () => {
  const name = stagePodName(a.table)
  pod = name
  await createStagePod(t, buildStagePod({name, namespace: ns, table: a.table, serviceAccount: 'ingestor', image: 'alpine:3.20', runId: 'bench'}))
  await waitPodReady(t, ns, name, {timeoutMs: 60_000})
  return name
}
let retriesNoted = 0
try {
  const first = await startPod()
  const tStage = performance.now()
  const cpu0 = process.cpuUsage()
  const r = await stageFiles({
    t,
    namespace: ns,
    pod: first,
    table: a.table,
    entries,
    paths: stagingPaths(a.table),
    parallel: a.parallel,
    compress: a.compress,
    batch: a.batch,
    rangeBytes: a.rangeBytes,
    cache: a.noCache ? undefined : HashCache.load(a.dir),
    recreatePod: async () => {
      await deletePod(t, ns, pod).catch(() => undefined)
      return startPod()
    },
    onNote: (line) => {
      retriesNoted++
      process.stderr.write(`note: ${line}\n`)
    },
  })
  const stageSeconds = (performance.now() - tStage) / 1000
  const stageCpu = process.cpuUsage(cpu0)
  await deletePod(t, ns, pod)
  const total = (performance.now() - t0) / 1000
  process.stdout.write(JSON.stringify({ok: true, result: r, stageSeconds, totalSeconds: total, maxRssKiB: process.resourceUsage().maxRSS, cpuSeconds: (process.cpuUsage().user + process.cpuUsage().system) / 1e6, stageCpuSeconds: (stageCpu.user + stageCpu.system) / 1e6, notes: retriesNoted, peakMiB: Object.fromEntries(Object.entries(mem).map(([k, v]) => [k, Math.round(v / 1048576)]))}) + '\n')
} catch (error) {
  if (pod) await deletePod(t, ns, pod).catch(() => undefined)
  process.stdout.write(JSON.stringify({ok: false, error: String(error?.message ?? error), maxRssKiB: process.resourceUsage().maxRSS}) + '\n')
  process.exitCode = 1
}
