// The object store's own CA and serving certificate (openssl CLI, EC P-256). The certificate names the
// pod-network address, loopback and `tb-objects`: pods reach the store by that name (busybox wget with
// openssl checks a name, never an IP literal), the user's tools by address.
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

export const STORE_HOSTNAME = 'tb-objects'

export function generateStoreCerts(ips: string[]): {caPem: string; certPem: string; keyPem: string} {
  const dir = mkdtempSync(path.join(tmpdir(), 'sandbox-store-certs-'))
  const f = (n: string) => path.join(dir, n)
  const ssl = (...args: string[]) => execFileSync('openssl', args, {stdio: ['ignore', 'ignore', 'pipe']})
  try {
    ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '7',
      '-subj', '/CN=sandbox-object-store-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign')
    ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('srv.key'), '-out', f('srv.csr'), '-subj', `/CN=${STORE_HOSTNAME}`)
    const sans = [...new Set(['127.0.0.1', ...ips])].map((i) => `IP:${i}`).concat(`DNS:${STORE_HOSTNAME}`, 'DNS:localhost').join(',')
    writeFileSync(f('ext.cnf'), `subjectAltName=${sans}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n`)
    ssl('x509', '-req', '-in', f('srv.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('srv.crt'), '-days', '7', '-extfile', f('ext.cnf'))
    return {caPem: readFileSync(f('ca.crt'), 'utf8'), certPem: readFileSync(f('srv.crt'), 'utf8'), keyPem: readFileSync(f('srv.key'), 'utf8')}
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}
