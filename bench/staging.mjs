// `npm run bench:staging` (after `npm run build`): staging throughput, memory, incremental re-push and
// cut-stream resume against the sandbox cluster (real pods under bubblewrap, busybox tar/dd/md5sum),
// compared in the same run with `kubectl cp` of the same directory into a sandbox pod and a local
// `tar -c | tar -x` pipe (the physical limit of this machine).
//
// Datasets are generated on the fly in $TMPDIR/tracebloc-bench-staging and removed at the end:
//   A  20 000 × ~100 KiB incompressible files (2 GiB)     B  200 MiB of CSV text     C  one 5 GiB file
//   RSS: one 100 MiB file vs one 10 GiB file
//   K  against kubectl cp, both shapes (5 000 × ~100 KiB and one 1.25 GiB file), on the local link and on the
//      modelled remote link (sandbox faults linkLatencyMs/linkBytesPerSecond; --link-rtt ms, --link-mibps MiB/s,
//      a comma-separated list: one remote run per rate; default 25,8)
// Options: --scale F (multiply every size/count; e.g. --scale 0.1 for a quick check), --skip-kubectl,
//          [--shapes small,big] [--no-local] [--link-mibps 25,8|none]
//          --only K,X,A,B,C,R,F (sections: K=kubectl ratios on both links, X=the exec path's own ceiling,
//          A=2 GiB set incl. re-push + parallel sweep, B=CSV, C=5 GiB, R=RSS, F=fault run,
//          T=tiny files: 4 KiB text files at each count of --tiny-counts (default 10000,100000; add 1000000
//          where there is time and disk), staging and kubectl cp alternating which goes first, with the peak
//          RSS of each client and of local validation (planDataset) of the same folder; with
//          --only T --validation-only just validation, without the sandbox).
import {execFileSync, spawn, spawnSync} from 'node:child_process'
import {createHash, randomFillSync} from 'node:crypto'
import {closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync, writeSync} from 'node:fs'
import {availableParallelism, loadavg, tmpdir} from 'node:os'
import path from 'node:path'
import {performance} from 'node:perf_hooks'
import {fileURLToPath} from 'node:url'

import {startSandbox} from '../test/sandbox/index.ts'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const argv = process.argv.slice(2)
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? argv[i + 1] : dflt
}
const scale = Number(opt('scale', '1'))
const only = new Set(opt('only', 'K,X,A,B,C,R,F,T').split(','))
const tinyCounts = opt('tiny-counts', '10000,100000').split(',').map((x) => Math.max(100, Math.round(Number(x) * scale)))
const linkRtt = Number(opt('link-rtt', '40'))
const linkMiBps = opt('link-mibps', '25,8').split(',').filter((x) => x && x !== 'none').map(Number)
// K only: which shapes (small, big) and whether the local link runs (--no-local)
const shapes = new Set(opt('shapes', 'small,big').split(','))
const localLink = !argv.includes('--no-local')
const skipKubectl = argv.includes('--skip-kubectl')
// T only: local validation's time and peak RSS at each count, no sandbox, staging or kubectl
const validationOnly = argv.includes('--validation-only')
const KUBECTL = '/usr/lib/google-cloud-sdk/bin/kubectl.1.32'
// GNU time for kubectl's peak RSS (an empty prefix where it is missing: the figure is then left out)
const TIME = existsSync('/usr/bin/time') ? "/usr/bin/time -f 'maxrss %M' " : ''
const MiB = 1 << 20
const GiB = 1 << 30
const fmt = (b) => (b >= GiB ? `${(b / GiB).toFixed(2)} GiB` : `${(b / MiB).toFixed(1)} MiB`)
const rate = (b, s) => `${(b / MiB / s).toFixed(1)} MiB/s`

// CPU of this whole process tree (the in-process sandbox API server, its pods, the staging client or kubectl)
// from a cgroup of our own, when we may make one (root; cgroup v1 cpuacct or v2). On 2 shared cores wall time
// swings ±30 % with other jobs; CPU seconds per byte barely move, and once both cores are busy they decide.
const cpu = (() => {
  const tries = [
    ['/sys/fs/cgroup/cpuacct', 'cpuacct.usage', (t) => Number(t) / 1e9],
    ['/sys/fs/cgroup/unified', 'cpu.stat', (t) => Number(/usage_usec (\d+)/.exec(t)[1]) / 1e6],
    ['/sys/fs/cgroup', 'cpu.stat', (t) => Number(/usage_usec (\d+)/.exec(t)[1]) / 1e6],
  ]
  for (const [top, file, parse] of tries) {
    try {
      if (!existsSync(path.join(top, 'cgroup.procs'))) continue
      const dir = path.join(top, `tracebloc-bench-${process.pid}`)
      mkdirSync(dir, {recursive: true})
      writeFileSync(path.join(dir, 'cgroup.procs'), String(process.pid))
      const read = () => parse(readFileSync(path.join(dir, file), 'utf8'))
      read()
      process.on('exit', () => {
        try {
          writeFileSync(path.join(top, 'cgroup.procs'), String(process.pid))
          rmdirSync(dir)
        } catch {
          // a child still inside: the empty group is left behind
        }
      })
      return read
    } catch {
      // not allowed here: try the next layout
    }
  }
  return undefined
})()
console.log(cpu ? 'CPU: measured per step from a cgroup (all processes of the step)' : 'CPU: no cgroup available, CPU figures skipped')
const cpuSince = (c0) => (cpu && c0 !== undefined ? cpu() - c0 : undefined)

const base = path.join(tmpdir(), 'tracebloc-bench-staging')
rmSync(base, {recursive: true, force: true})
mkdirSync(base, {recursive: true})
console.log(`df -h ${tmpdir()}:\n${execFileSync('df', ['-h', tmpdir()], {encoding: 'utf8'}).trim()}`)

// --- data generation -------------------------------------------------------------------------------
function genFiles(dir, count, size) {
  mkdirSync(path.join(dir, 'images'), {recursive: true})
  const buf = Buffer.alloc(size + 4096)
  for (let i = 0; i < count; i++) {
    const n = size - 2048 + (i % 4096) // ~size, varied
    randomFillSync(buf, 0, n)
    const fd = openSync(path.join(dir, 'images', `img_${String(i).padStart(6, '0')}.jpg`), 'w')
    writeSync(fd, buf, 0, n)
    closeSync(fd)
  }
  return dir
}
function genBig(file, bytes) {
  mkdirSync(path.dirname(file), {recursive: true})
  const chunk = Buffer.alloc(16 * MiB)
  const fd = openSync(file, 'w')
  for (let left = bytes; left > 0; ) {
    const n = Math.min(left, chunk.length)
    randomFillSync(chunk, 0, n)
    writeSync(fd, chunk, 0, n)
    left -= n
  }
  closeSync(fd)
  return path.dirname(file)
}
function genCsv(file, bytes) {
  mkdirSync(path.dirname(file), {recursive: true})
  const fd = openSync(file, 'w')
  writeSync(fd, 'id,age,income,city,score,comment,label\n')
  const cities = ['Berlin', 'Munich', 'Hamburg', 'Cologne', 'Frankfurt', 'Stuttgart']
  let written = 0
  let i = 0
  let seed = 12345
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff)
  while (written < bytes) {
    const rows = []
    for (let k = 0; k < 5000; k++, i++) rows.push(`${i},${18 + Math.floor(rnd() * 60)},${(rnd() * 150000).toFixed(2)},${cities[i % 6]},${rnd().toFixed(6)},customer note number ${i % 977},${rnd() > 0.5 ? 'yes' : 'no'}`)
    const s = rows.join('\n') + '\n'
    writeSync(fd, s)
    written += Buffer.byteLength(s)
  }
  closeSync(fd)
  return path.dirname(file)
}
/** `count` text files of 4 KiB in texts/ and their labels.csv (text_classification). */
function genTiny(dir, count) {
  mkdirSync(path.join(dir, 'texts'), {recursive: true})
  const words = Buffer.from('the quick brown fox jumps over the lazy dog while tracebloc stages text '.repeat(64)).subarray(0, 4096)
  const rows = ['filename,extension,label']
  for (let i = 0; i < count; i++) {
    const id = String(i).padStart(7, '0')
    words.write(id, 0, 'latin1') // every file different
    writeFileSync(path.join(dir, 'texts', `doc${id}.txt`), words)
    rows.push(`doc${id},.txt,${i % 2 ? 'positive' : 'negative'}`)
  }
  writeFileSync(path.join(dir, 'labels.csv'), rows.join('\n') + '\n')
  return dir
}

/** Local validation of a folder (planDataset, as `dataset push` runs it) in a child: its seconds and peak RSS. */
function validate(dir) {
  const code = `
    const {planDataset} = await import(${JSON.stringify(path.join(dist, 'lib/local/index.js'))})
    const t = performance.now()
    const plan = await planDataset({path: ${JSON.stringify(dir)}, table: 'bench_t', category: 'text_classification', labelColumn: 'label'})
    process.stdout.write(JSON.stringify({seconds: (performance.now() - t) / 1000, maxRssKiB: process.resourceUsage().maxRSS, files: plan.files.length}))
  `
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], {cwd: root, encoding: 'utf8', maxBuffer: 1 << 24})
  if (r.status !== 0) return {error: r.stderr.trim().split('\n').slice(-2).join(' ')}
  return JSON.parse(r.stdout)
}

function dirBytes(dir) {
  let n = 0
  for (const d of readdirSync(dir, {withFileTypes: true, recursive: true})) if (d.isFile()) n += statSync(path.join(d.parentPath, d.name)).size
  return n
}
function hashTree(dir) {
  const out = new Map()
  for (const d of readdirSync(dir, {withFileTypes: true, recursive: true})) {
    if (!d.isFile() || d.name.startsWith('.tracebloc-')) continue
    const p = path.join(d.parentPath, d.name)
    out.set(path.relative(dir, p), createHash('sha256').update(readFileSync(p)).digest('hex'))
  }
  return out
}

// --- runners -----------------------------------------------------------------------------------------
// a private copy of dist/ inside the repo (so node_modules resolve): others may rebuild dist/ meanwhile
const dist = path.join(root, 'tmp', `bench-staging-dist-${process.pid}`)
mkdirSync(path.dirname(dist), {recursive: true})
execFileSync('cp', ['-r', path.join(root, 'dist'), dist])
process.on('exit', () => rmSync(dist, {recursive: true, force: true}))
const sb = validationOnly ? undefined : await startSandbox()
const staged = (table) => path.join(sb.pvcDir, '.tracebloc-staging', table)
function clearStaged(table) {
  const dir = path.join(sb.pvcDir, '.tracebloc-staging')
  if (!existsSync(dir)) return
  for (const e of readdirSync(dir)) if (e === table || e.startsWith(`${table}.`) || e === `.${table}.lock`) rmSync(path.join(dir, e), {recursive: true, force: true})
}

function stage(dir, table, extra = {}) {
  const c0 = cpu?.()
  return new Promise((resolve) => {
    const args = JSON.stringify({kubeconfig: sb.kubeconfigPath, dir, table, dist, ...extra})
    const env = {...process.env, XDG_CACHE_HOME: path.join(base, 'cache')}
    // BENCH_CLIENT_NODE_ARGS: extra node flags for the client (e.g. --cpu-prof --cpu-prof-dir=/tmp/prof)
    const nodeArgs = (process.env.BENCH_CLIENT_NODE_ARGS ?? '').split(' ').filter(Boolean)
    const child = spawn(process.execPath, [...nodeArgs, path.join(root, 'bench/staging-client.mjs'), args], {env, stdio: ['ignore', 'pipe', 'inherit']})
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.on('close', () => {
      try {
        const r = JSON.parse(out.trim().split('\n').at(-1))
        // cpuSeconds: every process of the step (cgroup); clientCpuSeconds: the client process alone
        resolve({...r, clientCpuSeconds: r.cpuSeconds, cpuSeconds: cpuSince(c0)})
      } catch {
        resolve({ok: false, error: `no result: ${out.slice(-300)}`})
      }
    })
  })
}

function localPipe(dir) {
  const dest = mkdtempSync(path.join(base, 'pipe-'))
  const t0 = performance.now()
  spawnSync('sh', ['-c', `tar -c -f - -C "${dir}" . | tar -x -f - -C "${dest}"`], {stdio: 'inherit'})
  const s = (performance.now() - t0) / 1000
  rmSync(dest, {recursive: true, force: true})
  return s
}

/** A ready stage pod to copy or exec into (made through the API, not by a bench client run); `remove()` deletes it. */
async function benchPod(name, table) {
  const {loadClusterTarget} = await import(path.join(dist, 'lib/cluster/kube.js'))
  const {buildStagePod, createStagePod, deletePod, waitPodReady} = await import(path.join(dist, 'lib/pvc/stage-pod.js'))
  const t = await loadClusterTarget({kubeconfig: sb.kubeconfigPath})
  await createStagePod(t, buildStagePod({name, namespace: 'tracebloc', table, serviceAccount: 'ingestor', image: 'alpine:3.20', runId: 'bench'}))
  await waitPodReady(t, 'tracebloc', name, {timeoutMs: 60_000})
  return {t, remove: () => deletePod(t, 'tracebloc', name)}
}

async function kubectlCp(dir, table) {
  const name = `kcp-${table.replace(/_/g, '-')}`.slice(0, 50)
  const pod = await benchPod(name, table)
  const home = mkdtempSync(path.join(base, 'kubectl-home-'))
  const c0 = cpu?.()
  const t0 = performance.now()
  // async: the sandbox API server lives in this process, a sync spawn would starve it
  // through sh, whose `times` prints kubectl's own user and system CPU (its last stderr line)
  const r = await new Promise((resolve) => {
    const c = spawn('sh', ['-c', `${TIME}"$0" "$@"; s=$?; times >&2; exit $s`, KUBECTL, '--kubeconfig', sb.kubeconfigPath, 'cp', dir, `tracebloc/${name}:/data/shared/kcp-${table}`, '-c', 'stage'], {env: {PATH: process.env.PATH, HOME: home}, stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    c.stderr.on('data', (d) => (stderr += d))
    c.on('close', (status) => resolve({status, stderr}))
  })
  const times = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(r.stderr)
  const maxRssKiB = Number(/maxrss (\d+)/.exec(r.stderr)?.[1]) || undefined
  const clientCpuSeconds = times ? Number(times[1]) * 60 + Number(times[2]) + Number(times[3]) * 60 + Number(times[4]) : undefined
  const s = (performance.now() - t0) / 1000
  const cpuSeconds = cpuSince(c0)
  await pod.remove()
  rmSync(path.join(sb.pvcDir, `kcp-${table}`), {recursive: true, force: true})
  rmSync(home, {recursive: true, force: true})
  if (r.status !== 0) return {error: (r.stderr || '').slice(-300)}
  return {seconds: s, cpuSeconds, clientCpuSeconds, maxRssKiB}
}

/** Staging against kubectl cp on one directory: wall-time ratio and each client's own CPU per GiB. */
async function versus(dir, table) {
  const bytes = dirBytes(dir)
  // BENCH_STAGE_OPTS: staging options for these runs, e.g. '{"parallel":2,"batch":{"bytes":33554432}}'
  const r = await stage(dir, table, {noCache: true, ...JSON.parse(process.env.BENCH_STAGE_OPTS || '{}')})
  clearStaged(table)
  if (!r.ok) return {error: r.error}
  const k = skipKubectl ? {error: 'skipped'} : await kubectlCp(dir, table)
  const perGiB = (c) => (c === undefined ? undefined : (c / bytes) * GiB)
  // the client's CPU while it stages (not its start-up or the stage pod's creation); kubectl's whole process
  return {bytes, seconds: r.stageSeconds, parallel: r.result.parallel, check: r.result.check, cpu: perGiB(r.stageCpuSeconds), kSeconds: k.seconds, kCpu: perGiB(k.clientCpuSeconds), kError: k.error, allCpu: perGiB(r.cpuSeconds), kAllCpu: perGiB(k.cpuSeconds)}
}

const lines = []
const report = (s) => {
  console.log(s)
  lines.push(s)
}
const fail = (what, r) => report(`  ${what}: FAILED ${r.error}`)

async function compare(label, dir, table, extra = {}) {
  const bytes = dirBytes(dir)
  const pipeS = localPipe(dir)
  const r = await stage(dir, table, extra)
  if (!r.ok) return fail(label, r)
  report(`${label}: ${fmt(bytes)} in ${r.result.files} files`)
  report(`  tracebloc staging  ${r.stageSeconds.toFixed(2)} s  ${rate(bytes, r.stageSeconds)}  (parallel ${r.result.parallel}, compressed ${r.result.compressed}, wire ${fmt(r.result.wireBytes)}, batches ${r.result.batches}, peak RSS ${(r.maxRssKiB / 1024).toFixed(0)} MiB)`)
  report(`  local tar|tar      ${pipeS.toFixed(2)} s  ${rate(bytes, pipeS)}  → staging reaches ${((pipeS / r.stageSeconds) * 100).toFixed(0)} % of the local pipe`)
  if (!skipKubectl) {
    const k = await kubectlCp(dir, table)
    if (k.error) report(`  kubectl cp         FAILED ${k.error}`)
    else {
      report(`  kubectl cp 1.32    ${k.seconds.toFixed(2)} s  ${rate(bytes, k.seconds)}  → staging is ${(k.seconds / r.stageSeconds).toFixed(2)}× kubectl cp`)
      if (r.cpuSeconds !== undefined && k.cpuSeconds !== undefined) {
        report(`  CPU, all processes: staging ${r.cpuSeconds.toFixed(1)} s (${((r.cpuSeconds / bytes) * GiB).toFixed(1)} s/GiB, incl. client start + stage pod), kubectl cp ${k.cpuSeconds.toFixed(1)} s (${((k.cpuSeconds / bytes) * GiB).toFixed(1)} s/GiB) → staging spends ${(r.cpuSeconds / k.cpuSeconds).toFixed(2)}× the CPU`)
      }
    }
  }
  return r
}

console.log(`\nscale ${scale}\n`)
try {
  if (only.has('K')) {
    const n = Math.round(5000 * scale)
    const small = genFiles(path.join(base, 'K-small'), n, 100 * 1024)
    const big = genBig(path.join(base, 'K-big', 'big.bin'), Math.round(1.25 * GiB * scale))
    const rows = []
    for (const link of [...(localLink ? ['local'] : []), ...linkMiBps]) {
      const linkName = link === 'local' ? 'local link' : `remote link (${linkRtt} ms RTT, ${link} MiB/s per connection)`
      if (link !== 'local') sb.faults.set({linkLatencyMs: linkRtt, linkBytesPerSecond: link * MiB})
      try {
        for (const [shape, dir, table] of [
          ...(shapes.has('small') ? [[`${n} × ~100 KiB`, small, `bench_k_small_${link}`.replace('.', '_')]] : []),
          ...(shapes.has('big') ? [[`one ${fmt(dirBytes(big))} file`, big, `bench_k_big_${link}`.replace('.', '_')]] : []),
        ]) {
          const v = await versus(dir, table)
          if (v.error) {
            rows.push(`  ${linkName}, ${shape}: FAILED ${v.error}`)
            continue
          }
          const ratio = v.kSeconds ? `${(v.kSeconds / v.seconds).toFixed(2)}× kubectl cp` : `kubectl cp ${v.kError}`
          const cpuText = `client CPU ${v.cpu?.toFixed(2) ?? '?'} s/GiB vs kubectl ${v.kCpu?.toFixed(2) ?? '?'} s/GiB${v.cpu && v.kCpu ? ` (${(v.cpu / v.kCpu).toFixed(2)}×)` : ''}`
          // every process of each step (cgroup): client, the in-process API server relay, pods; staging's includes its client's start-up and the stage pod's creation
          const allText = v.allCpu !== undefined ? `; all processes ${v.allCpu.toFixed(2)} vs ${v.kAllCpu?.toFixed(2) ?? '?'} s/GiB` : ''
          rows.push(`  ${linkName}, ${shape}: staging ${v.seconds.toFixed(2)} s (${rate(v.bytes, v.seconds)}, up to ${v.parallel} streams, ${v.check} checks), kubectl cp ${v.kSeconds?.toFixed(2) ?? '-'} s → ${ratio}; ${cpuText}${allText}`)
          console.log(rows.at(-1))
        }
      } finally {
        sb.faults.clear()
      }
    }
    report('K: staging against kubectl cp 1.32 (wall-time ratio > 1 = staging faster; CPU = each client process alone)')
    for (const r of rows) report(r)
    rmSync(small, {recursive: true, force: true})
    rmSync(path.dirname(big), {recursive: true, force: true})
  }

  if (only.has('T')) {
    // Many tiny files: per-file costs (open, hash, tar header, the pod's check, progress) decide here.
    report(`T: tiny files, 4 KiB text each (text_classification layout); load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${availableParallelism()} cores`)
    for (const [i, count] of tinyCounts.entries()) {
      const dir = genTiny(path.join(base, `T-${count}`), count)
      const table = `bench_t_${count}`
      const v = validate(dir)
      if (validationOnly) {
        rmSync(dir, {recursive: true, force: true})
        report(`  ${count} files: validation ${v.error ? `failed: ${v.error}` : `peak RSS ${(v.maxRssKiB / 1024).toFixed(0)} MiB (${v.seconds.toFixed(2)} s)`}`)
        continue
      }
      // alternate which side goes first, so a change in the machine's load does not favour one side
      const runStage = () => stage(dir, table, {noCache: true, ...JSON.parse(process.env.BENCH_STAGE_OPTS || '{}')})
      const runKubectl = () => (skipKubectl ? {error: 'skipped'} : kubectlCp(dir, table))
      let r, k
      if (i % 2 === 0) {
        r = await runStage()
        clearStaged(table)
        k = await runKubectl()
      } else {
        k = await runKubectl()
        r = await runStage()
        clearStaged(table)
      }
      rmSync(dir, {recursive: true, force: true})
      if (!r.ok) {
        fail(`T ${count} files`, r)
        continue
      }
      const ratio = k.seconds ? `${(k.seconds / r.stageSeconds).toFixed(2)}× kubectl cp (${k.seconds.toFixed(2)} s)` : `kubectl cp ${k.error}`
      const mib = (kib) => (kib ? `${(kib / 1024).toFixed(0)} MiB` : '?')
      console.log(`  (staging client: compressed ${r.result.compressed}, parallel ${r.result.parallel}, client CPU ${r.stageCpuSeconds.toFixed(2)} s, peak heap/external/arrayBuffers MiB ${JSON.stringify(r.peakMiB)})`)
      report(`  ${count} files: staging ${r.stageSeconds.toFixed(2)} s (${(count / r.stageSeconds).toFixed(0)} files/s, ${r.result.batches} batches, ${r.result.check} checks) → ${ratio}; peak RSS staging ${mib(r.maxRssKiB)}, kubectl ${mib(k.maxRssKiB)}, validation ${v.error ? `failed: ${v.error}` : `${mib(v.maxRssKiB)} (${v.seconds.toFixed(2)} s)`}`)
    }
  }

  if (only.has('A')) {
    const n = Math.round(20_000 * scale)
    const dirA = genFiles(path.join(base, 'A'), n, 100 * 1024)
    const first = await compare(`A: ${n} × ~100 KiB incompressible`, dirA, 'bench_a')
    if (first?.ok) {
      const again = await stage(dirA, 'bench_a')
      if (!again.ok) fail('A re-push', again)
      else {
        report(`  unchanged re-push  ${again.stageSeconds.toFixed(3)} s staging (${((again.stageSeconds / first.stageSeconds) * 100).toFixed(1)} % of the first push), ${again.totalSeconds.toFixed(2)} s incl. stage pod start; file bytes sent ${again.result.sentBytes}, skipped ${again.result.skippedFiles} files, swapped ${again.result.swapped}`)
      }
      // one changed file → one file sent
      const f0 = path.join(dirA, 'images', 'img_000000.jpg')
      const b0 = readFileSync(f0)
      b0[0] ^= 0xff
      writeFileSync(f0, b0)
      const one = await stage(dirA, 'bench_a')
      if (one.ok) report(`  one file changed   ${one.stageSeconds.toFixed(2)} s, sent ${one.result.sentFiles} file(s) (${fmt(one.result.sentBytes)}), skipped ${one.result.skippedFiles}`)
      else fail('A one-file re-push', one)
    }
    clearStaged('bench_a')
    // parallel sweep on a quarter of the set
    const sweepDir = genFiles(path.join(base, 'A-sweep'), Math.max(200, Math.round(n / 4)), 100 * 1024)
    const sweepBytes = dirBytes(sweepDir)
    const sweep = []
    for (const p of [1, 2, 3, 4]) {
      const r = await stage(sweepDir, `bench_sweep_${p}`, {parallel: p, noCache: true})
      clearStaged(`bench_sweep_${p}`)
      if (r.ok) sweep.push(`p=${p}: ${rate(sweepBytes, r.stageSeconds)} (RSS ${(r.maxRssKiB / 1024).toFixed(0)} MiB)`)
      else sweep.push(`p=${p}: failed`)
    }
    report(`  --parallel sweep on ${fmt(sweepBytes)}: ${sweep.join(', ')}`)
    rmSync(sweepDir, {recursive: true, force: true})
    rmSync(dirA, {recursive: true, force: true})
  }

  if (only.has('B')) {
    const dirB = genCsv(path.join(base, 'B', 'data.csv'), Math.round(200 * MiB * scale))
    const off = await stage(dirB, 'bench_b_off', {compress: 'off'})
    clearStaged('bench_b_off')
    const auto = await compare('B: CSV text (--compress auto)', dirB, 'bench_b')
    clearStaged('bench_b')
    if (off.ok && auto?.ok) report(`  --compress off     ${off.stageSeconds.toFixed(2)} s  ${rate(off.result.bytes, off.stageSeconds)}; auto/gzip sends ${((auto.result.wireBytes / auto.result.bytes) * 100).toFixed(0)} % of the bytes and takes ${((auto.stageSeconds / off.stageSeconds) * 100).toFixed(0)} % of the time`)
    rmSync(dirB, {recursive: true, force: true})
  }

  if (only.has('X')) {
    // The ceiling of any exec-based copy here: zeros from our exec client into `cat > /dev/null` in a sandbox
    // pod — no files, no tar, no hashing; only the API server relay, TLS, WebSocket framing and the pod's pipe.
    const {execInPod} = await import(path.join(dist, 'lib/cluster/exec.js'))
    const pod = await benchPod('bench-raw', 'bench_raw')
    const t = pod.t
    const per = Math.round(512 * MiB * Math.min(1, scale * 4))
    const zeros = Buffer.alloc(256 << 10)
    const out = []
    for (const n of [1, 2, 4]) {
      const c0 = cpu?.()
      const t0 = performance.now()
      await Promise.all(
        Array.from({length: n}, () =>
          execInPod(t, {namespace: 'tracebloc', pod: 'bench-raw', container: 'stage', command: ['sh', '-c', 'cat > /dev/null'], stdin: (async function* () {
            for (let sent = 0; sent < per; sent += zeros.length) yield zeros
          })()}),
        ),
      )
      const secs = (performance.now() - t0) / 1000
      const c = cpuSince(c0)
      out.push(`${n} stream${n > 1 ? 's' : ''} ${rate(n * per, secs)}${c === undefined ? '' : ` (${((c / (n * per)) * GiB).toFixed(1)} CPU s/GiB)`}`)
    }
    await pod.remove()
    report(`X: exec path ceiling (zeros → cat > /dev/null, ${fmt(per)} per stream): ${out.join(', ')}`)
  }

  if (only.has('C')) {
    const dirC = genBig(path.join(base, 'C', 'big.bin'), Math.round(5 * GiB * scale))
    await compare('C: one big file', dirC, 'bench_c')
    clearStaged('bench_c')
    rmSync(dirC, {recursive: true, force: true})
  }

  if (only.has('R')) {
    const small = genBig(path.join(base, 'R1', 'f.bin'), Math.round(100 * MiB))
    const r1 = await stage(small, 'bench_r1', {noCache: true})
    clearStaged('bench_r1')
    rmSync(small, {recursive: true, force: true})
    const big = genBig(path.join(base, 'R2', 'f.bin'), Math.round(10 * GiB * scale))
    const r2 = await stage(big, 'bench_r2', {noCache: true})
    clearStaged('bench_r2')
    rmSync(big, {recursive: true, force: true})
    if (r1.ok && r2.ok) report(`RSS: 100 MiB → ${(r1.maxRssKiB / 1024).toFixed(0)} MiB peak; ${fmt(r2.result.bytes)} → ${(r2.maxRssKiB / 1024).toFixed(0)} MiB peak (ratio ${(r2.maxRssKiB / r1.maxRssKiB).toFixed(2)})`)
    else report(`RSS run failed: ${r1.error ?? ''} ${r2.error ?? ''}`)
  }

  if (only.has('F')) {
    const n = Math.round(20_000 * scale)
    const dirF = genFiles(path.join(base, 'F'), n, 100 * 1024)
    const batchBytes = 32 * MiB
    // every batch stream is cut after 20 MiB of its stdin, 5 times
    sb.faults.set({cutExecAfterBytes: {bytes: 20 * MiB, times: 5}})
    const r = await stage(dirF, 'bench_f', {noCache: true})
    sb.faults.clear()
    if (!r.ok) fail('F', r)
    else {
      const local = hashTree(dirF)
      const remote = hashTree(staged('bench_f'))
      const same = local.size === remote.size && [...local].every(([k, v]) => remote.get(k) === v)
      const resent = r.result.sentBytes - r.result.bytes
      report(`F: ${fmt(r.result.bytes)} with 5 exec streams cut after 20 MiB: ok in ${r.stageSeconds.toFixed(2)} s, retries ${r.result.retries}, staged tree byte-identical (sha256 of ${remote.size} files): ${same}`)
      report(`  re-sent ${fmt(resent)} of file bytes = the 5 interrupted batches' partial streams (≤ 5 × ${fmt(batchBytes)} batch = ${fmt(5 * batchBytes)})`)
    }
    clearStaged('bench_f')
    rmSync(dirF, {recursive: true, force: true})
  }
} finally {
  await sb?.stop()
  rmSync(base, {recursive: true, force: true})
}
console.log('\n--- summary ---\n' + lines.join('\n'))
