// The modelled remote link (faults linkLatencyMs / linkBytesPerSecond): per-connection cap and
// latency in virtual time (exact), and through the API server's real WebSocket exec (lower bounds only:
// a loaded machine can make a stream slower, never faster than the link allows).
import assert from 'node:assert/strict'
import {execFile, type ChildProcess} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import http from 'node:http'
import net, {type AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {after, before, test} from 'node:test'
import * as k8s from '@kubernetes/client-node'
import WebSocket from 'ws'
import {MemoryStore, startApiServer, type ApiServer} from '../sandbox/apiserver/index.js'
import {LinkPipe, linkCounters, type Clock} from '../sandbox/apiserver/link.js'
import {Faults} from '../sandbox/faults.js'
import {kubeconfigYaml, writeKubeconfig} from '../sandbox/kubeconfig.js'
import {LocalRuntime, runningPod} from './local-runtime.js'
import {findKubectl} from '../helpers/tools.js'
import {kubectlPortForward} from './port-forward.js'

class VirtualClock implements Clock {
  t = 0
  private timers: Array<{at: number; fn: () => void}> = []
  now = () => this.t
  after(ms: number, fn: () => void) {
    const timer = {at: this.t + ms, fn}
    this.timers.push(timer)
    return () => (this.timers = this.timers.filter((x) => x !== timer))
  }
  run(until: number) {
    for (;;) {
      const next = this.timers.filter((x) => x.at <= until).sort((a, b) => a.at - b.at)[0]
      if (!next) break
      this.timers = this.timers.filter((x) => x !== next)
      this.t = next.at
      next.fn()
    }
    this.t = until
  }
}

const MiB = 1 << 20
const shape = {latencyMs: 40, bytesPerSecond: MiB}

/** Push `bytes` in 64 KiB messages through each pipe at t=0; the time the last message of each arrives. */
function send(clock: VirtualClock, pipes: LinkPipe[], bytes: number): number[] {
  const done = pipes.map(() => -1)
  const order = pipes.map(() => [] as number[])
  pipes.forEach((p, i) => {
    for (let off = 0; off < bytes; off += 64 << 10) p.push(64 << 10, () => {
      order[i].push(off)
      done[i] = clock.now()
    })
  })
  clock.run(10_000)
  for (const o of order) assert.deepEqual(o, [...o].sort((a, b) => a - b), 'messages arrive in order')
  return done
}

test('one connection is capped at linkBytesPerSecond and delayed by half the round trip', () => {
  const clock = new VirtualClock()
  const [t] = send(clock, [new LinkPipe(shape, clock)], 2 * MiB)
  assert.equal(t, 2000 + 20) // 2 MiB at 1 MiB/s, then 20 ms one way
})

test('two connections each get the full rate: twice the bytes in the same time', () => {
  const clock = new VirtualClock()
  const one = send(clock, [new LinkPipe(shape, clock)], MiB)[0]
  const clock2 = new VirtualClock()
  const two = send(clock2, [new LinkPipe(shape, clock2), new LinkPipe(shape, clock2)], MiB)
  assert.deepEqual(two, [one, one])
  assert.equal((2 * MiB) / Math.max(...two) / (MiB / one), 2)
})

test('the sender sees a full window after one bandwidth-delay product plus 256 KiB', () => {
  const clock = new VirtualClock()
  const p = new LinkPipe({latencyMs: 1000, bytesPerSecond: MiB}, clock)
  assert.equal(p.window, MiB + (256 << 10))
  p.push(MiB, () => undefined)
  assert.ok(p.queued <= p.window)
  p.push(512 << 10, () => undefined)
  assert.ok(p.queued > p.window)
  clock.run(1600)
  assert.equal(p.queued, 512 << 10) // the first MiB arrived at 1000 + 500 ms
})

let dir: string
let server: ApiServer
let web: http.Server
const faults = new Faults()
before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'link-'))
  const store = new MemoryStore()
  const runtime = new LocalRuntime(dir)
  server = await startApiServer({store, runtime, faults, namespaces: ['tracebloc']})
  store.create({group: '', version: 'v1', resource: 'pods'}, runningPod('p1', 'tracebloc'))
  // the pod's port 8080: an HTTP echo
  web = http.createServer((req, res) => req.pipe(res))
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r))
  runtime.portMap.set(8080, (web.address() as AddressInfo).port)
})
after(async () => {
  web.close()
  await server.close()
  rmSync(dir, {recursive: true, force: true})
})

/** `wc -c` over a v5 exec with `bytes` of stdin: what the pod counted and the seconds it took. */
function upload(bytes: number): Promise<{count: number; seconds: number}> {
  const q = new URLSearchParams([['command', 'wc'], ['command', '-c'], ['stdin', 'true'], ['stdout', 'true']])
  const ws = new WebSocket(`${server.url.replace('https', 'wss')}/api/v1/namespaces/tracebloc/pods/p1/exec?${q}`, ['v5.channel.k8s.io'], {ca: server.caPem, headers: {Authorization: `Bearer ${server.tokens.admin}`}})
  const t0 = performance.now()
  let out = ''
  return new Promise((resolve, reject) => {
    ws.on('open', () => {
      const data = Buffer.alloc(bytes, 7)
      for (let i = 0; i < bytes; i += 64 << 10) ws.send(Buffer.concat([Buffer.from([0]), data.subarray(i, i + (64 << 10))]))
      ws.send(Buffer.from([255, 0]))
    })
    ws.on('message', (m: Buffer) => {
      if (m[0] === 1) out += m.subarray(1).toString()
    })
    ws.on('error', reject)
    ws.on('close', () => resolve({count: Number(out.trim()), seconds: (performance.now() - t0) / 1000}))
  })
}

test('exec stdin through the sandbox API server is held to the modelled link, per connection', async (t) => {
  const bytes = 768 << 10
  faults.set({linkLatencyMs: 40, linkBytesPerSecond: MiB})
  try {
    // the pace itself is checked on a virtual clock above; here: every stdin byte went through the link
    let carried = linkCounters.bytes
    const one = await upload(bytes)
    assert.equal(one.count, bytes)
    assert.ok(linkCounters.bytes - carried >= bytes, 'the stream went through the modelled link')
    carried = linkCounters.bytes
    const two = await Promise.all([upload(bytes), upload(bytes)])
    for (const r of two) assert.equal(r.count, bytes)
    assert.ok(linkCounters.bytes - carried >= 2 * bytes, 'both streams went through the modelled link')
    const rate1 = bytes / one.seconds
    const rate2 = (2 * bytes) / Math.max(...two.map((r) => r.seconds))
    t.diagnostic(`one stream ${(rate1 / MiB).toFixed(2)} MiB/s, two streams ${(rate2 / MiB).toFixed(2)} MiB/s (${(rate2 / rate1).toFixed(2)}x)`)
  } finally {
    faults.clear()
  }
})

test('port-forward through the modelled link: the bytes arrive intact, both directions through the modelled link', async () => {
  const kc = new k8s.KubeConfig()
  kc.loadFromString(kubeconfigYaml({url: server.url, caData: server.caData, tokens: server.tokens, namespace: 'tracebloc', defaultUser: 'admin'}))
  const srv = net.createServer(async (sock) => {
    const ws = (await new k8s.PortForward(kc).portForward('tracebloc', 'p1', [8080], sock, null, sock)) as WebSocket
    sock.on('close', () => ws.close())
    ws.on('close', () => sock.destroy())
  })
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const body = Buffer.alloc(512 << 10, 3)
  faults.set({linkLatencyMs: 40, linkBytesPerSecond: MiB})
  try {
    const carried = linkCounters.bytes
    const res = await fetch(`http://127.0.0.1:${(srv.address() as AddressInfo).port}/echo`, {method: 'POST', body, headers: {connection: 'close'}})
    const back = Buffer.from(await res.arrayBuffer())
    assert.ok(back.equals(body), 'the echo came back intact')
    // 512 KiB up and 512 KiB down through the link (its pace is checked on a virtual clock above)
    assert.ok(linkCounters.bytes - carried >= 2 * body.length, 'both directions went through the modelled link')
  } finally {
    faults.clear()
    srv.close()
  }
})

// kubectl takes the SPDY paths: SPDY exec when the server offers exec v4 only, SPDY port-forward (in a
// WebSocket tunnel by default, plain with KUBECTL_PORT_FORWARD_WEBSOCKETS=false).
const found = findKubectl()
const KUBECTL = 'bin' in found ? found.bin : 'kubectl'
const skip = 'skip' in found ? found.skip : false

function kubeconfigFile(): string {
  const f = path.join(dir, 'kubeconfig')
  writeKubeconfig(f, {url: server.url, caData: server.caData, tokens: server.tokens, namespace: 'tracebloc'})
  return f
}

test('SPDY exec (kubectl, exec v4 only) through the modelled link: intact, through the modelled link', {skip}, async () => {
  const input = Buffer.alloc(512 << 10, 5)
  faults.set({execV4Only: true, linkLatencyMs: 40, linkBytesPerSecond: MiB})
  try {
    const carried = linkCounters.bytes
    const out = await new Promise<string>((resolve, reject) => {
      const c = execFile(KUBECTL, ['--kubeconfig', kubeconfigFile(), 'exec', '-i', 'p1', '--', 'wc', '-c'], {env: {PATH: process.env.PATH, HOME: dir}, timeout: 60_000}, (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout)))
      c.stdin!.end(input)
    })
    assert.equal(Number(out.trim()), input.length)
    assert.ok(linkCounters.bytes - carried >= input.length, 'the stdin went through the modelled link')
  } finally {
    faults.clear()
  }
})

for (const [how, env] of [
  ['in a WebSocket tunnel', {}],
  ['plain', {KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false'}],
] as const) {
  test(`SPDY port-forward (kubectl, ${how}) through the modelled link: intact, through the modelled link`, {skip}, async () => {
    // the link is chosen when a connection opens: kubectl opens its SPDY connection at start
    faults.set({linkLatencyMs: 40, linkBytesPerSecond: MiB})
    let child: ChildProcess | undefined
    try {
      const pf = await kubectlPortForward({kubectl: KUBECTL, kubeconfig: kubeconfigFile(), home: dir, env})
      child = pf.child
      const port = pf.port
      const body = Buffer.alloc(512 << 10, 9)
      const carried = linkCounters.bytes
      const back = Buffer.from(await (await fetch(`http://127.0.0.1:${port}/echo`, {method: 'POST', body})).arrayBuffer())
      assert.ok(back.equals(body), 'the echo came back intact')
      assert.ok(linkCounters.bytes - carried >= 2 * body.length, 'both directions went through the modelled link')
    } finally {
      faults.clear()
      child?.kill()
    }
  })
}
