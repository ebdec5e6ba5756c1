// What the CLI leaves where others can read it: redaction of every credential shape, the private hash
// cache, and the masking of the WebSocket frames it sends.
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import type {AddressInfo, Socket} from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {Readable} from 'node:stream'
import {after, describe, test} from 'node:test'

import {execInPod} from '../../src/lib/cluster/exec.js'
import type {ClusterTarget} from '../../src/lib/cluster/kube.js'
import {redact} from '../../src/lib/output/redact.js'
import {HashCache} from '../../src/lib/staging/hash-cache.js'

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tb-secrets-'))
after(() => rmSync(tmp, {recursive: true, force: true}))

describe('redact: credential shapes nobody registered', () => {
  const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAsecretkeybody\nZZZmorekey==\n-----END RSA PRIVATE KEY-----'
  const cases: Array<[string, string, string]> = [
    ['Basic auth header', 'Authorization: Basic YWRtaW46czNjcjN0UGFzcw==', 'YWRtaW46czNjcjN0UGFzcw'],
    ['opaque bearer token', 'header Bearer statictok01xyzopaque', 'statictok01xyzopaque'],
    ['lower-case bearer', 'authorization: bearer statictok01xyzopaque', 'statictok01xyzopaque'],
    ['EKS token', 'token k8s-aws-v1.aHR0cHM6Ly9zdHMuYW1hem9uYXdzLmNvbS8_QWN0aW9u', 'aHR0cHM6Ly9zdHMuYW1hem9uYXdz'],
    ['GKE token', 'using ya29.a0AfH6SMBx-secret_gke.token now', 'a0AfH6SMBx'],
    ['bootstrap token', 'join with abcdef.0123456789abcdef please', '0123456789abcdef'],
    ['PEM private key', `key:\n${pem}\n`, 'secretkeybody'],
    ['cut-off PEM private key', '-----BEGIN PRIVATE KEY-----\nMIIEvQsecretkeystart', 'secretkeystart'],
    ['base64 PEM (client-key-data)', `data ${Buffer.from(pem).toString('base64')} end`, Buffer.from(pem).toString('base64').slice(20, 60)],
    ['user:pass@ URL', 'cannot reach https://admin:hunter2secret@10.0.0.1:6443/api', 'hunter2secret'],
    ['kubeconfig token line', '    token: plainstatictoken123', 'plainstatictoken123'],
    ['quoted password', 'password: "p4ss word"', 'p4ss word'],
    ['JSON client-secret', '{"client-secret": "oidcsecret42"}', 'oidcsecret42'],
    ['JWT', 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl', 'c2lnbmF0dXJl'],
  ]
  for (const [name, text, secret] of cases) {
    test(name, () => {
      const out = redact(text)
      assert.ok(!out.includes(secret), `${name}: ${out}`)
      assert.match(out, /\[REDACTED\]/)
    })
  }

  test('ordinary text and JSON documents stay as they were', () => {
    const doc = JSON.stringify({token: {source: 'TokenRequest', lifetime_seconds: 600}, server: 'https://10.0.0.1:6443', note: 'Basic authentication is off'}, null, 2)
    assert.equal(redact(doc), doc)
    for (const s of ['https://kubernetes.default.svc:443/api', 'labels.csv', 'tracebloc-stage-cats-0a1b2c3d', 'sha256:' + 'a'.repeat(64), 'Basic authentication']) assert.equal(redact(s), s)
  })

  test('every pattern is linear on long hostile input', () => {
    // a backtracking pattern would take minutes on these; the test runner's timeout is the guard
    for (const s of ['Basic ' + 'a'.repeat(200_000), 'https://' + 'a:'.repeat(100_000), 'token: ' + '"'.repeat(100_000), '-----BEGIN PRIVATE KEY-----'.repeat(5000), 'a'.repeat(6) + '.'.repeat(100_000)]) redact(s)
  })
})

describe('hash cache: private, no paths in clear', () => {
  test('the file is 0600 in a 0700 folder and names no path of the machine', {skip: process.platform === 'win32'}, () => {
    const dir = path.join(tmp, 'cache')
    const root = path.join(tmp, 'patient-records')
    const file = path.join(root, 'images', 'jane_doe_scan.png')
    const c = HashCache.load(root, dir)
    const sha = createHash('sha256').update('x').digest('hex')
    c.set(file, 10, 1234.5, sha)
    assert.equal(c.save(), true)
    assert.equal(statSync(c.file).mode & 0o777, 0o600)
    assert.equal(statSync(dir).mode & 0o777, 0o700)
    const text = readFileSync(c.file, 'utf8')
    for (const s of ['patient-records', 'jane_doe', tmp, os.homedir()]) assert.ok(!text.includes(s), `${s} in ${text}`)
    assert.equal(HashCache.load(root, dir).get(file, 10, 1234.5), sha, 'still found by path after a reload')
    assert.equal(HashCache.load(root, dir).get(path.join(root, 'other.png'), 10, 1234.5), undefined)
  })

  test('an older cache with paths in clear is rewritten without them', {skip: process.platform === 'win32'}, () => {
    const dir = path.join(tmp, 'cache-old')
    const root = path.join(tmp, 'old-root')
    const sha = createHash('sha256').update('y').digest('hex')
    mkdirSync(dir, {recursive: true, mode: 0o755})
    writeFileSync(HashCache.load(root, dir).file, `${sha}\t1\t1\t/home/someone/secret-project/a.png\n`, {mode: 0o644})
    const c = HashCache.load(root, dir)
    assert.equal(c.get('/home/someone/secret-project/a.png', 1, 1), undefined)
    c.save()
    assert.ok(!readFileSync(c.file, 'utf8').includes('secret-project'))
    assert.equal(statSync(c.file).mode & 0o777, 0o600)
    assert.equal(statSync(dir).mode & 0o777, 0o700)
  })
})

describe('WebSocket frames the CLI sends', () => {
  test('are masked, each with its own random key', async () => {
    const masks: string[] = []
    let sockRef: Socket | undefined
    const server = http.createServer()
    server.on('upgrade', (req, socket: Socket) => {
      sockRef = socket
      const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64')
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n`)
      let buf = Buffer.alloc(0)
      socket.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d])
        for (;;) {
          if (buf.length < 2) return
          const masked = (buf[1] & 0x80) !== 0
          let len = buf[1] & 0x7f
          let off = 2
          if (len === 126) {
            if (buf.length < 4) return
            len = buf.readUInt16BE(2)
            off = 4
          } else if (len === 127) {
            if (buf.length < 10) return
            len = Number(buf.readBigUInt64BE(2))
            off = 10
          }
          const maskLen = masked ? 4 : 0
          if (buf.length < off + maskLen + len) return
          const opcode = buf[0] & 0x0f
          const key = masked ? buf.subarray(off, off + 4).toString('hex') : 'unmasked'
          const payload = Buffer.from(buf.subarray(off + maskLen, off + maskLen + len))
          if (masked) for (let i = 0; i < payload.length; i++) payload[i] ^= buf[off + (i % 4)]
          buf = buf.subarray(off + maskLen + len)
          if (opcode === 2) {
            masks.push(key)
            // stdin closed (v5 close frame for channel 0): report the command's success
            if (payload.length === 2 && payload[0] === 255 && payload[1] === 0) {
              const status = Buffer.concat([Buffer.from([3]), Buffer.from('{"status":"Success"}')])
              socket.write(Buffer.concat([Buffer.from([0x82, status.length]), status]))
            }
          }
        }
      })
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    try {
      const port = (server.address() as AddressInfo).port
      // only what execInPod reads of a target: where the server is and how to authenticate (nothing here)
      const target = {server: `http://127.0.0.1:${port}`, kc: {applyToHTTPSOptions: async () => undefined}} as unknown as ClusterTarget
      const r = await execInPod(target, {namespace: 'ns', pod: 'p', command: ['cat'], stdin: Readable.from([Buffer.alloc(700 << 10, 7)])})
      assert.equal(r.exitCode, 0)
    } finally {
      sockRef?.destroy()
      server.close()
    }
    assert.ok(masks.length >= 4, `frames: ${masks.length}`)
    assert.ok(!masks.includes('unmasked'), 'every client frame is masked')
    assert.ok(!masks.includes('00000000'), `no all-zero mask: ${masks.join(' ')}`)
    assert.equal(new Set(masks).size, masks.length, `a fresh key per frame: ${masks.join(' ')}`)
  })
})
