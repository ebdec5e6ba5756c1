// A local HTTPS release server in the GitHub releases layout (<base>/download/v<ver>/<file>,
// <base>/latest/download/<file>), with a certificate made here by openssl; the CLI trusts it through
// NODE_EXTRA_CA_CERTS. Each base path is a mirror with its own fault:
//   /good      the releases as published
//   /tampered  a tarball whose bytes differ from its SHA256SUMS line
//   /cut       the tarball's connection is dropped halfway
//   /badsig    SHA256SUMS edited after signing (it names the tampered tarball's hash)
//   /stall     the tarball's first half arrives, then nothing (until the client goes away)
//   /unsigned  no SHA256SUMS.sig
import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {readFileSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:https'
import type {AddressInfo} from 'node:net'
import path from 'node:path'

import {root} from './cli.js'
import {releaseTarball} from './install-copies.js'

const SIGN = path.join(root, 'scripts/release/sign-sums.mjs')

/** A release key pair made by the release script itself: {privateFile, publicFile}. */
export function releaseKey(dir: string): {privateFile: string; publicFile: string} {
  execFileSync(process.execPath, [SIGN, '--generate-key', dir], {stdio: 'ignore'})
  return {privateFile: path.join(dir, 'private.pem'), publicFile: path.join(dir, 'public.pem')}
}

export interface ReleaseServer {
  url: (mirror: string) => string
  caFile: string
  close: () => Promise<void>
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')

/** Builds releases `versions` (the last is latest), signed with `privateKeyFile`, and serves them. */
export async function startReleaseServer(work: string, versions: string[], privateKeyFile: string): Promise<ReleaseServer> {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(work, 'tls.key'), '-out', path.join(work, 'tls.crt')], {stdio: 'ignore'})
  const files = new Map<string, Buffer>() // `<mirror>/<version>/<name>`
  for (const v of versions) {
    const name = releaseTarball(work, v, work)
    const tarball = readFileSync(path.join(work, name))
    const tampered = Buffer.concat([tarball, Buffer.from('tampered')])
    const sumsText = `${sha(tarball)}  ${name}\n${sha('npm')}  tracebloc-cli-${v}.tgz\n`
    const sumsFile = path.join(work, `SHA256SUMS-${v}`)
    writeFileSync(sumsFile, sumsText)
    execFileSync(process.execPath, [SIGN, '--sums', sumsFile, '--key', privateKeyFile], {stdio: 'ignore'})
    const sig = readFileSync(`${sumsFile}.sig`)
    for (const m of ['good', 'tampered', 'cut', 'badsig', 'stall', 'unsigned']) {
      const put = (f: string, b: Buffer) => files.set(`${m}/${v}/${f}`, b)
      put(name, m === 'tampered' || m === 'badsig' ? tampered : tarball)
      put('SHA256SUMS', Buffer.from(m === 'badsig' ? sumsText.replace(sha(tarball), sha(tampered)) : sumsText))
      if (m !== 'unsigned') put('SHA256SUMS.sig', sig)
    }
  }
  const latest = versions.at(-1)!
  const stalled = new Set<import('node:http').ServerResponse>()
  const server: Server = createServer({key: readFileSync(path.join(work, 'tls.key')), cert: readFileSync(path.join(work, 'tls.crt'))}, (req, res) => {
    const m = /^\/([a-z]+)\/(?:download\/v([^/]+)|latest\/download)\/([^/]+)$/.exec(req.url ?? '')
    const body = m ? files.get(`${m[1]}/${m[2] ?? latest}/${m[3]}`) : undefined
    if (!m || !body) {
      res.writeHead(404).end('not found')
      return
    }
    res.writeHead(200, {'content-type': 'application/octet-stream', 'content-length': body.length})
    if (m[1] === 'cut' && m[3]!.endsWith('.tar.gz')) {
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.destroy())
      return
    }
    if (m[1] === 'stall' && m[3]!.endsWith('.tar.gz')) {
      res.write(body.subarray(0, Math.floor(body.length / 2)))
      stalled.add(res)
      return
    }
    res.end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: (mirror) => `https://127.0.0.1:${port}/${mirror}`,
    caFile: path.join(work, 'tls.crt'),
    close: () => {
      for (const res of stalled) res.destroy()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}
