// Slow-link fault timing (npm run bench:sandbox-exec): a 200 kB exec stdin upload through the sandbox
// API server with execBytesPerSecond = 400 kB/s should take about 0.5 s — the link time, not ws's
// 30 s close timeout. Prints the measured seconds and the ratio to the ideal.
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import WebSocket from 'ws'
import {MemoryStore, startApiServer} from '../test/sandbox/apiserver/index.js'
import {Faults} from '../test/sandbox/faults.js'
import {LocalRuntime, runningPod} from '../test/sandbox-tests/local-runtime.js'

const dir = mkdtempSync(path.join(tmpdir(), 'bench-exec-'))
const store = new MemoryStore()
const faults = new Faults()
const server = await startApiServer({store, runtime: new LocalRuntime(dir), faults, namespaces: ['tracebloc']})
store.create({group: '', version: 'v1', resource: 'pods'}, runningPod('p1', 'tracebloc'))
const SIZE = 200_000
const RATE = 400_000

async function upload(): Promise<number> {
  const q = new URLSearchParams([['command', 'wc'], ['command', '-c'], ['stdin', 'true'], ['stdout', 'true']])
  const ws = new WebSocket(`${server.url.replace('https', 'wss')}/api/v1/namespaces/tracebloc/pods/p1/exec?${q}`, ['v5.channel.k8s.io'], {ca: server.caPem, headers: {Authorization: `Bearer ${server.tokens.admin}`}})
  const t0 = performance.now()
  await new Promise<void>((resolve) => {
    ws.on('open', () => {
      const data = Buffer.alloc(SIZE)
      for (let i = 0; i < SIZE; i += 65536) ws.send(Buffer.concat([Buffer.from([0]), data.subarray(i, i + 65536)]))
      ws.send(Buffer.from([255, 0]))
    })
    ws.on('close', () => resolve())
  })
  return (performance.now() - t0) / 1000
}

const fast = await upload()
faults.set({execBytesPerSecond: RATE})
const slow = await upload()
const ideal = SIZE / RATE
console.log(`unthrottled 200 kB exec upload: ${fast.toFixed(3)} s`)
console.log(`execBytesPerSecond=${RATE}: ${slow.toFixed(3)} s (ideal ${ideal.toFixed(3)} s, ratio ${(slow / ideal).toFixed(2)})`)
await server.close()
rmSync(dir, {recursive: true, force: true})
