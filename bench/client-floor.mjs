// The client's CPU floor per GiB for sending a file to a pod, piece by piece, on this machine: reading it
// from the page cache, hashing it (sha256, md5), and the transport alone (WebSocket frames over TLS to a
// local server that discards them; zero mask, 256 KiB frames, AES-128-GCM as staging negotiates it). Each
// piece runs alone in this process and is timed with process.cpuUsage(); the server is a child process,
// so its CPU is not counted. Prints one line per piece and their sum.
//   node bench/client-floor.mjs [MiB]   (default 512)
import {spawn} from 'node:child_process'
import {createHash, generateKeyPairSync} from 'node:crypto'
import {closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import WebSocket from 'ws'

const MiB = 1 << 20
const size = Number(process.argv[2] ?? 512) * MiB
const perGiB = (c) => ((c.user + c.system) / 1e6 / (size / 2 ** 30)).toFixed(2)
const dir = mkdtempSync(path.join(os.tmpdir(), 'tb-floor-'))
const file = path.join(dir, 'data.bin')

// 1 MiB of noise repeated: the page cache holds it after the write
const noise = Buffer.alloc(MiB)
for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24
const fd = openSync(file, 'w')
for (let n = 0; n < size; n += MiB) writeFileSync(fd, noise)
closeSync(fd)

function timed(fn) {
  const c0 = process.cpuUsage()
  fn()
  return process.cpuUsage(c0)
}

const rows = []
const buf = Buffer.allocUnsafe(MiB)
const readAll = (each) => {
  const f = openSync(file, 'r')
  for (let pos = 0, n; (n = readSync(f, buf, 0, MiB, pos)) > 0; pos += n) each?.(buf.subarray(0, n))
  closeSync(f)
}
readAll() // warm the page cache
rows.push(['read (page cache, 1 MiB readSync)', perGiB(timed(() => readAll()))])
for (const algo of ['sha256', 'md5']) {
  const c = timed(() => {
    const h = createHash(algo)
    for (let n = 0; n < size; n += MiB) h.update(noise)
    h.digest()
  })
  rows.push([`${algo} (OpenSSL)`, perGiB(c)])
}

// the transport: a TLS WebSocket server in a child process, this process sends `size` bytes to it
const {privateKey} = generateKeyPairSync('ec', {namedCurve: 'prime256v1'})
const keyPem = privateKey.export({type: 'pkcs8', format: 'pem'})
const certPem = await selfSigned(keyPem)
writeFileSync(path.join(dir, 'key.pem'), keyPem)
writeFileSync(path.join(dir, 'cert.pem'), certPem)
const wsDir = path.dirname(fileURLToPath(import.meta.resolve('ws')))
const server = spawn(process.execPath, ['--input-type=module', '-e', `
  import https from 'node:https'; import fs from 'node:fs'
  import {WebSocketServer} from ${JSON.stringify(path.join(wsDir, 'wrapper.mjs'))}
  const s = https.createServer({key: fs.readFileSync(${JSON.stringify(path.join(dir, 'key.pem'))}), cert: fs.readFileSync(${JSON.stringify(path.join(dir, 'cert.pem'))})})
  new WebSocketServer({server: s, perMessageDeflate: false}).on('connection', (ws) => ws.on('message', () => {}))
  s.listen(0, '127.0.0.1', () => console.log(s.address().port))`], {stdio: ['ignore', 'pipe', 'inherit']})
const port = await new Promise((resolve) => server.stdout.once('data', (d) => resolve(Number(String(d).trim()))))
try {
  const ws = new WebSocket(`wss://127.0.0.1:${port}/`, {rejectUnauthorized: false, perMessageDeflate: false, generateMask: (m) => void m.fill(0), ciphers: 'TLS_AES_128_GCM_SHA256'})
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
  const cipher = ws._socket.getCipher().name
  const FRAME = 256 << 10
  const pool = Array.from({length: 8}, () => Buffer.alloc(FRAME + 1, 1))
  const c0 = process.cpuUsage()
  let wake
  for (let sent = 0; sent < size; sent += FRAME) {
    while (pool.length === 0) await new Promise((r) => (wake = r))
    const f = pool.pop()
    ws.send(f, {binary: true}, () => {
      pool.push(f)
      wake?.()
    })
  }
  while (pool.length < 8) await new Promise((r) => (wake = r))
  rows.push([`WebSocket frames over TLS (${cipher}, loopback)`, perGiB(process.cpuUsage(c0))])
  ws.terminate()
} finally {
  server.kill()
  rmSync(dir, {recursive: true, force: true})
}

console.log(`client CPU per GiB, ${size / MiB} MiB, each piece alone (load average ${os.loadavg()[0].toFixed(2)}):`)
for (const [what, v] of rows) console.log(`  ${what.padEnd(48)} ${v} s/GiB`)
const sum = (names) => rows.filter(([w]) => names.some((n) => w.startsWith(n))).reduce((a, [, v]) => a + Number(v), 0).toFixed(2)
console.log(`  floor with sha256 checks (read + sha256 + transport)        ${sum(['read', 'sha256', 'WebSocket'])} s/GiB`)
console.log(`  floor with md5 checks (read + sha256 + md5 + transport)     ${sum(['read', 'sha256', 'md5', 'WebSocket'])} s/GiB`)

/** A self-signed certificate for 127.0.0.1 from openssl (the one tool on every machine this runs on). */
async function selfSigned(key) {
  const k = path.join(dir, 'k.pem')
  writeFileSync(k, key)
  const p = spawn('openssl', ['req', '-x509', '-key', k, '-days', '1', '-subj', '/CN=127.0.0.1', '-out', '-'], {stdio: ['ignore', 'pipe', 'ignore']})
  let out = ''
  p.stdout.on('data', (d) => (out += d))
  await new Promise((r) => p.on('close', r))
  return out
}
