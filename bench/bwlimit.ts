// `npm run bench:bwlimit [-- --caps 4,8,16] [-- --seconds S]` (after `npm run build`): how close `--bwlimit`
// holds a push to its cap, on the sandbox's local link (far faster than any cap here), with the stream
// count measured as usual (several streams share the cap). For each cap, a dataset of about S seconds at
// the cap (1 MiB incompressible images) is pushed with --detach (the ingestor is told to stop at once:
// its work is not what is measured), and once more without a cap, to show the link is faster.
// Prints, per cap, two ratios to the cap:
// - landed: the rate at the far end, bytes landing in the staging work dir on client-pvc (the sandbox's
//   volume is a host directory, sampled every 100 ms) between 10 % and 90 % of the data: the transfer's
//   own rate, without the staging step's fixed costs;
// - push: the wire bytes over the whole staging step's time as the push reports it (lock, in-pod checks
//   and swap included, so below the transfer's rate).
import {randomBytes} from 'node:crypto'
import * as fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {parseArgs} from 'node:util'

import {startSandbox} from '../test/sandbox/index.js'
import {runCli} from './cli.js'
import {pngHeader} from '../test/helpers/png.js'

const MiB = 1024 * 1024
const {values} = parseArgs({options: {caps: {type: 'string', default: '4,8,16'}, seconds: {type: 'string', default: '10'}}})
const caps = values.caps.split(',').map(Number)
const seconds = Number(values.seconds)
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-bwlimit-'))
const sb = await startSandbox()

const cli = (args: string[]) => runCli(args, tmp, {TRACEBLOC_STAGE_POD_TIMEOUT: '60'})

/** `count` images of 1 MiB (a PNG header, then random bytes), one per row. */
function dataset(name: string, count: number): string {
  const dir = path.join(tmp, name)
  fs.mkdirSync(path.join(dir, 'images'), {recursive: true})
  const rows = ['filename,label']
  for (let i = 0; i < count; i++) {
    fs.writeFileSync(path.join(dir, 'images', `i${i}.png`), Buffer.concat([pngHeader(64, 64), randomBytes(MiB - 33)]))
    rows.push(`i${i}.png,${i % 2 ? 'cat' : 'dog'}`)
  }
  fs.writeFileSync(path.join(dir, 'labels.csv'), rows.join('\n') + '\n')
  return dir
}

/** Bytes in the table's staging work dir, sampled every 100 ms while `run` goes on. */
async function sampled<T>(table: string, run: () => Promise<T>): Promise<{result: T; samples: Array<{t: number; bytes: number}>}> {
  const staging = path.join(sb.pvcDir, '.tracebloc-staging')
  const size = (dir: string): number => {
    let n = 0
    for (const e of fs.readdirSync(dir, {withFileTypes: true})) {
      try {
        n += e.isDirectory() ? size(path.join(dir, e.name)) : e.name.startsWith('.tb-') ? 0 : fs.statSync(path.join(dir, e.name)).size
      } catch {
        // renamed or removed under us (the swap): the next sample sees the new state
      }
    }
    return n
  }
  const samples: Array<{t: number; bytes: number}> = []
  const timer = setInterval(() => {
    let bytes = 0
    try {
      for (const d of fs.readdirSync(staging)) if (d.startsWith(`${table}.staging-`)) bytes += size(path.join(staging, d))
    } catch {
      return
    }
    samples.push({t: performance.now(), bytes})
  }, 100)
  try {
    return {result: await run(), samples}
  } finally {
    clearInterval(timer)
  }
}

/** Bytes/s between the samples where 10 % and 90 % of `total` had landed. */
function landedRate(samples: Array<{t: number; bytes: number}>, total: number): number {
  const a = samples.find((s) => s.bytes >= 0.1 * total)
  const b = samples.find((s) => s.bytes >= 0.9 * total)
  if (!a || !b || b.t <= a.t) return Number.NaN
  return ((b.bytes - a.bytes) / (b.t - a.t)) * 1000
}

async function push(dir: string, table: string, bwlimit?: string) {
  const {result, samples} = await sampled(table, () => pushOnce(dir, table, bwlimit))
  return {...result, landed: landedRate(samples, result.bytes)}
}

async function pushOnce(dir: string, table: string, bwlimit?: string) {
  const r = await cli(['dataset', 'push', dir, '--table', table, '--category', 'image_classification', '--kubeconfig', sb.kubeconfigPath, '--json', '--detach', '--compress', 'off', ...(bwlimit ? ['--bwlimit', bwlimit] : [])])
  if (r.code !== 0) throw new Error(`push ${table} failed: ${r.json?.error ?? r.stderr}`)
  const st = r.json.staged
  return {wire: st.wire_bytes as number, bytes: st.bytes as number, seconds: st.seconds as number, streams: st.parallel as number}
}

try {
  sb.faults.set({ingestor: 'config-error'})
  console.log(`caps ${caps.join(', ')} MiB/s; about ${seconds} s of data at each cap; load ${os.loadavg()[0].toFixed(1)} on ${os.availableParallelism()} cores`)
  for (const cap of caps) {
    const dir = dataset(`cap${cap}`, Math.round(cap * seconds))
    const free = await push(dir, `free_${cap}`)
    const capped = await push(dir, `capped_${cap}`, `${cap}MiB`)
    const bps = cap * MiB
    console.log(
      `cap ${String(cap).padStart(3)} MiB/s: ${(capped.wire / MiB).toFixed(0)} MiB over ${capped.streams} streams; landed ${(capped.landed / MiB).toFixed(2)} MiB/s = ${(capped.landed / bps).toFixed(3)} × cap; push ${(capped.wire / capped.seconds / MiB).toFixed(2)} MiB/s in ${capped.seconds.toFixed(2)} s = ${(capped.wire / capped.seconds / bps).toFixed(3)} × cap | uncapped: landed ${(free.landed / MiB).toFixed(1)} MiB/s, push ${(free.wire / free.seconds / MiB).toFixed(1)} MiB/s over ${free.streams} streams${free.landed < 1.25 * bps ? ' (the link was not clearly faster than the cap in this run: the figure is bound by the machine, not the cap)' : ''}`,
    )
    fs.rmSync(dir, {recursive: true, force: true})
  }
} finally {
  await sb.stop()
  fs.rmSync(tmp, {recursive: true, force: true})
}
