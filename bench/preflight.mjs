// `npm run bench:preflight`: local preflight throughput and memory, compared with `cat` of the same
// files in the same run (the disk-bound baseline).
//   1. 100 000 generated 64×64 JPEGs + labels.csv  → planDataset(image_classification)
//   2. a 2 GB generated CSV                          → planDataset(tabular_classification)
// Data is generated into $TMPDIR/tracebloc-bench-preflight (reused when present; delete it to
// regenerate). Env: BENCH_IMAGES (default 100000), BENCH_CSV_MB (default 2048).
// Each preflight runs in a child process so its peak RSS (getrusage maxrss) is its own.
import {execFileSync, spawnSync} from 'node:child_process'
import {createWriteStream, existsSync, mkdirSync, statSync, writeFileSync} from 'node:fs'
import {loadavg, tmpdir} from 'node:os'
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

/** Run `planDataset` in a child (tsx) and return {ms, maxRssMB, rows, files}. */
function preflight(opts) {
  const code = `
    import {planDataset} from ${JSON.stringify(path.join(root, 'src/lib/dataset/index.ts'))}
    const t = performance.now()
    const plan = await planDataset(${JSON.stringify(opts)})
    const ms = performance.now() - t
    process.stdout.write(JSON.stringify({ms, maxRssMB: process.resourceUsage().maxRSS / 1024, rows: plan.rows, files: plan.files.length, bytes: plan.totalBytes}))
  `
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {cwd: root, encoding: 'utf8', maxBuffer: 1 << 24})
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
console.log(`load average at start: ${load()} (files are read once first, so preflight and cat both run on cached data)`)

// images: warm the page cache once, then time cat and preflight on the same warm files
const imgCat = `find ${JSON.stringify(imgDir)} -type f -print0 | xargs -0 cat > /dev/null`
catTime(imgCat)
const imgCatMs = catTime(imgCat)
const img = preflight({path: imgDir, table: 'bench_images', category: 'image_classification', labelColumn: 'label'})
console.log(`\nimages: ${img.files} files, ${fmt(mb(img.bytes))} MB, ${img.rows} rows`)
console.log(`  preflight  ${fmt(img.ms / 1000, 2)} s  ${fmt(img.files / (img.ms / 1000), 0)} files/s  ${fmt(mb(img.bytes) / (img.ms / 1000))} MB/s  peak RSS ${fmt(img.maxRssMB)} MB`)
console.log(`  cat        ${fmt(imgCatMs / 1000, 2)} s  ${fmt(img.files / (imgCatMs / 1000), 0)} files/s  ${fmt(mb(img.bytes) / (imgCatMs / 1000))} MB/s`)
console.log(`  ratio preflight/cat time: ${fmt(img.ms / imgCatMs, 2)}×`)

const csvCat = `cat ${JSON.stringify(csvFile)} > /dev/null`
catTime(csvCat)
const csvCatMs = catTime(csvCat)
const tab = preflight({path: csvFile, table: 'bench_table', category: 'tabular_classification', labelColumn: 'label'})
console.log(`\ncsv: ${fmt(mb(tab.bytes))} MB, ${tab.rows} rows`)
console.log(`  preflight  ${fmt(tab.ms / 1000, 2)} s  ${fmt(mb(tab.bytes) / (tab.ms / 1000))} MB/s  ${fmt(tab.rows / (tab.ms / 1000), 0)} rows/s  peak RSS ${fmt(tab.maxRssMB)} MB`)
console.log(`  cat        ${fmt(csvCatMs / 1000, 2)} s  ${fmt(mb(tab.bytes) / (csvCatMs / 1000))} MB/s`)
console.log(`  ratio preflight/cat time: ${fmt(tab.ms / csvCatMs, 2)}×`)
console.log(`\nload average at end: ${load()}`)
