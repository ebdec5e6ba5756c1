// Resume and progress on a slow link (npm run bench:resume): ~150 MiB in 2400 files pushed over the
// sandbox's uplink throttled to 4 MB/s, Ctrl-C once about half has landed on client-pvc, then the same
// push again; then a full push of another table. Prints the files the re-run sent again and what it kept,
// and the rates the progress line showed against the true average (bytes verified on client-pvc over the
// time since staging started). CLI_ROOT runs another checkout's build (e.g. main's) against this sandbox.
import {spawn} from 'node:child_process'
import {mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {startSandbox} from '../test/sandbox/index.js'

const ROOT = process.env.CLI_ROOT ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const FILES = Number(process.env.BENCH_FILES) || 2400
const FILE_BYTES = 64 << 10
const LINK = Number(process.env.BENCH_LINK_BPS) || 4_000_000

const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-resume-'))
const sb = await startSandbox()
const dir = path.join(tmp, 'ds')
mkdirSync(path.join(dir, 'texts'), {recursive: true})
const rows = ['filename,extension,label']
for (let i = 0; i < FILES; i++) {
  const b = Buffer.alloc(FILE_BYTES)
  for (let j = 0; j < FILE_BYTES; j += 4) b.writeUInt32LE((Math.random() * 2 ** 32) >>> 0, j)
  writeFileSync(path.join(dir, 'texts', `d${i}.txt`), b.toString('base64').slice(0, FILE_BYTES))
  rows.push(`d${i},.txt,${i % 2 ? 'positive' : 'negative'}`)
}
writeFileSync(path.join(dir, 'labels.csv'), rows.join('\n') + '\n')

const staging = (table: string) => path.join(sb.pvcDir, '.tracebloc-staging', table)
const whole = (d: string) => {
  try {
    return readdirSync(path.join(d, 'texts')).filter((f) => statSync(path.join(d, 'texts', f)).size === FILE_BYTES).length
  } catch {
    return 0
  }
}
const onPvc = (table: string) => whole(`${staging(table)}.staging-resume`) + whole(staging(table))

interface Line {
  t: number
  text: string
  landed: number
}

function push(table: string, stopAt?: number): Promise<{out: string; lines: Line[]; t0: number; end: number}> {
  return new Promise((resolve) => {
    const args = ['dataset', 'push', dir, '--table', table, '--category', 'text_classification', '--kubeconfig', sb.kubeconfigPath, '--detach', '--compress', 'off']
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/run.js'), ...args], {env: {...process.env, NO_COLOR: '1', TRACEBLOC_SKIP_NEW_VERSION_CHECK: 'true', XDG_CACHE_HOME: path.join(tmp, 'cache')}, stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    const lines: Line[] = []
    const t0 = Date.now()
    let sent = false
    const take = (d: Buffer) => {
      out += d
      for (const l of String(d).split('\n')) if (/ \/ .* · /.test(l)) lines.push({t: Date.now(), text: l.trim(), landed: onPvc(table)})
    }
    child.stdout.on('data', take)
    child.stderr.on('data', take)
    const poll = setInterval(() => {
      if (stopAt !== undefined && !sent && onPvc(table) >= stopAt) {
        sent = true
        child.kill('SIGINT')
      }
    }, 100)
    child.on('close', () => {
      clearInterval(poll)
      resolve({out, lines, t0, end: Date.now()})
    })
  })
}

const MiB = 1 << 20
const rate = (s: string) => {
  const m = /([\d.]+) (B|KiB|MiB|GiB)\/s/.exec(s)
  return m ? (Number(m[1]) * {B: 1, KiB: 1024, MiB, GiB: MiB * 1024}[m[2]]!) / MiB : Number.NaN
}

sb.faults.set({uplinkBytesPerSecond: LINK})
console.log(`${FILES} files, ${((FILES * FILE_BYTES) / MiB).toFixed(1)} MiB, link ${(LINK / 1e6).toFixed(1)} MB/s, CLI ${ROOT}`)
const cut = await push('resume_b', Math.floor(FILES / 2))
console.log(`cut at ${onPvc('resume_b')} files on client-pvc:\n  ${cut.out.split('\n').filter((l) => /Interrupted|Error|›.*run the same/.test(l)).join('\n  ')}`)
const again = await push('resume_b')
console.log(`re-run:\n  ${again.out.split('\n').filter((l) => /kept|Staged/.test(l)).join('\n  ')}`)

const full = await push('full_b')
const first = full.lines[0]?.t ?? full.t0
console.log(`full push, progress lines (shown rate vs true average = whole files on client-pvc × size / seconds since the first progress line):`)
for (const l of full.lines) {
  const secs = (l.t - first) / 1000
  const trueAvg = secs > 0 ? (l.landed * FILE_BYTES) / MiB / secs : Number.NaN
  console.log(`  ${secs.toFixed(1).padStart(5)}s  shown ${rate(l.text).toFixed(2)} MiB/s  true ${trueAvg.toFixed(2)} MiB/s  | ${l.text.slice(0, 150)}`)
}
console.log(`  ${full.out.split('\n').find((l) => /Staged/.test(l))}`)
await sb.stop()
rmSync(tmp, {recursive: true, force: true})
