// `npm run bench:preflight`: local preflight throughput and memory, compared with `cat` of the same
// files in the same run (the disk-bound baseline).
//   1. 100 000 generated 64×64 JPEGs + labels.csv  → planDataset(image_classification)
//   2. a 2 GB generated CSV                          → planDataset(tabular_classification)
// Data is generated into $TMPDIR/tracebloc-bench-preflight (reused when present; delete it to
// regenerate). Env: BENCH_IMAGES (default 100000), BENCH_CSV_MB (default 2048).
// Each preflight runs in a child process so its peak RSS (getrusage maxrss) is its own.
// BENCH_COLD=1 adds cold-cache runs (see measure() below).
import {execFileSync, spawnSync} from 'node:child_process'
import {createWriteStream, existsSync, mkdirSync, statSync, writeFileSync} from 'node:fs'
import {availableParallelism, loadavg, tmpdir} from 'node:os'
import {performance} from 'node:perf_hooks'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const N = Number(process.env.BENCH_IMAGES ?? 100_000)
const CSV_MB = Number(process.env.BENCH_CSV_MB ?? 2048)
const base = path.join(tmpdir(), 'tracebloc-bench-preflight')
const imgDir = path.join(base, `images-${N}`)
const csvFile = path.join(base, `table-${CSV_MB}mb`, 'data.csv')

/** A header-valid baseline JPEG of 64×64 (SOI, APP0/JFIF, SOF0, SOS, ~1.9 KB of scan bytes, EOI). */
function jpeg(i) {
  const soi = Buffer.from([0xff, 0xd8])
  const app0 = Buffer.from([0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00])
  const sof0 = Buffer.from([0xff, 0xc0, 0x00, 0x11, 0x08, 0x00, 64, 0x00, 64, 0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01])
  const sos = Buffer.from([0xff, 0xda, 0x00, 0x0c, 0x03, 0x01, 0x00, 0x02, 0x11, 0x03, 0x11, 0x00, 0x3f, 0x00])
  const scan = Buffer.alloc(1900)
  for (let k = 0; k < scan.length; k++) scan[k] = (i * 31 + k * 7) & 0x7f
  return Buffer.concat([soi, app0, sof0, sos, scan, Buffer.from([0xff, 0xd9])])
}

function genImages() {
  if (existsSync(path.join(imgDir, 'labels.csv'))) return
  console.log(`generating ${N} JPEGs in ${imgDir} …`)
  mkdirSync(path.join(imgDir, 'images'), {recursive: true})
  const lines = ['filename,label']
  for (let i = 0; i < N; i++) {
    const name = `img${String(i).padStart(6, '0')}.jpg`
    writeFileSync(path.join(imgDir, 'images', name), jpeg(i))
    lines.push(`${name},${i % 3 === 0 ? 'cat' : i % 3 === 1 ? 'dog' : 'bird'}`)
  }
  writeFileSync(path.join(imgDir, 'labels.csv'), lines.join('\n') + '\n')
}

async function genCsv() {
  if (existsSync(csvFile) && statSync(csvFile).size >= CSV_MB * 1024 * 1024) return
  console.log(`generating a ${CSV_MB} MB CSV at ${csvFile} …`)
  mkdirSync(path.dirname(csvFile), {recursive: true})
  const out = createWriteStream(csvFile)
  const target = CSV_MB * 1024 * 1024
  out.write('age,income,score,ratio,city,zip,flag,label\n')
  let bytes = 0
  let i = 0
  const cities = ['Berlin', 'Paris', 'New York', 'São Paulo', 'Tokyo']
  while (bytes < target) {
    let chunk = ''
    for (let k = 0; k < 10_000; k++, i++) {
      chunk += `${20 + (i % 60)},${(i * 37) % 200000},${((i * 13) % 1000) / 10},0.${(i * 7919) % 100000},"${cities[i % 5]}",0${(i % 9000) + 1000},${i % 2 ? 'yes' : 'no'},${i % 4 === 0 ? 'churn' : 'stay'}\n`
    }
    bytes += Buffer.byteLength(chunk)
    if (!out.write(chunk)) await new Promise((r) => out.once('drain', r))
  }
  await new Promise((r) => out.end(r))
}

/** Run `planDataset` in a child (tsx) and return {ms, maxRssMB, rows, files}; `env` adds to the child's environment. */
function preflight(opts, env = {}) {
  const code = `
    import {planDataset} from ${JSON.stringify(path.join(root, 'src/lib/local/index.ts'))}
    const t = performance.now()
    const plan = await planDataset(${JSON.stringify(opts)})
    const ms = performance.now() - t
    process.stdout.write(JSON.stringify({ms, maxRssMB: process.resourceUsage().maxRSS / 1024, rows: plan.rows, files: plan.files.length, bytes: plan.totalBytes}))
  `
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {cwd: root, encoding: 'utf8', maxBuffer: 1 << 24, env: {...process.env, ...env}})
  if (r.status !== 0) throw new Error(`preflight failed: ${r.stderr}`)
  return JSON.parse(r.stdout)
}

function catTime(args) {
  const t = performance.now()
  execFileSync('sh', ['-c', args], {stdio: 'ignore'})
  return performance.now() - t
}

const mb = (b) => b / 1024 / 1024
const fmt = (n, d = 1) => n.toFixed(d)

genImages()
await genCsv()
// 2 shared cores: say how busy the machine was, and that every timing below is on page-cached files
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ')
console.log(`load average at start: ${load()} (warm runs read page-cached files; cold runs, BENCH_COLD=1, do not)`)

// Each data set is measured warm (page cache filled by a first cat) and, with BENCH_COLD=1, cold:
// the bench's own files are dropped from the page cache (posix_fadvise DONTNEED via python3; nothing
// else on the machine is touched) before each timed cat and preflight, so both read from the disk.
const COLD = process.env.BENCH_COLD === '1'
const DROP = `import os, sys
for root in sys.argv[1:]:
    ps = [root] if os.path.isfile(root) else [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]
    for p in ps:
        fd = os.open(p, os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)`
const drop = (p) => execFileSync('python3', ['-c', DROP, p], {stdio: 'inherit'})

function report(what, r, catMs, unit) {
  const s = r.ms / 1000
  const extra = unit === 'files' ? `${fmt(r.files / s, 0)} files/s` : `${fmt(r.rows / s, 0)} rows/s`
  console.log(`  ${what} preflight  ${fmt(s, 2)} s  ${extra}  ${fmt(mb(r.bytes) / s)} MB/s  peak RSS ${fmt(r.maxRssMB)} MB`)
  console.log(`  ${what} cat        ${fmt(catMs / 1000, 2)} s  ${unit === 'files' ? `${fmt(r.files / (catMs / 1000), 0)} files/s  ` : ''}${fmt(mb(r.bytes) / (catMs / 1000))} MB/s`)
  console.log(`  ${what} ratio preflight/cat time: ${fmt(r.ms / catMs, 2)}×`)
}

function measure(title, target, cmd, opts, unit) {
  catTime(cmd)
  const catMs = catTime(cmd)
  const r = preflight(opts)
  console.log(`\n${title}: ${unit === 'files' ? `${r.files} files, ` : ''}${fmt(mb(r.bytes))} MB, ${r.rows} rows`)
  report('warm', r, catMs, unit)
  if (unit === 'rows') {
    // the CSV is checked in byte ranges on worker threads (min(cores, 4)); the same run on one thread:
    const one = preflight(opts, {TRACEBLOC_CSV_WORKERS: '1'})
    console.log(`  warm preflight on one thread (TRACEBLOC_CSV_WORKERS=1)  ${fmt(one.ms / 1000, 2)} s  ${fmt(mb(one.bytes) / (one.ms / 1000))} MB/s  peak RSS ${fmt(one.maxRssMB)} MB`)
    console.log(`  warm ratio one thread / ${availableParallelism() > 4 ? 4 : availableParallelism()} workers: ${fmt(one.ms / r.ms, 2)}×`)
  }
  if (COLD) {
    drop(target)
    const coldCatMs = catTime(cmd)
    drop(target)
    report('cold', preflight(opts), coldCatMs, unit)
  }
}

measure('images', imgDir, `find ${JSON.stringify(imgDir)} -type f -print0 | xargs -0 cat > /dev/null`, {path: imgDir, table: 'bench_images', category: 'image_classification', labelColumn: 'label'}, 'files')
measure('csv', csvFile, `cat ${JSON.stringify(csvFile)} > /dev/null`, {path: csvFile, table: 'bench_table', category: 'tabular_classification', labelColumn: 'label'}, 'rows')
console.log(`\nload average at end: ${load()}`)
