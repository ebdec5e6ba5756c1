// A throwaway CA and a serving certificate for 127.0.0.1/localhost, made with the openssl CLI
// (EC P-256 keys: generation takes milliseconds). Files live in a temp dir removed right away.
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

export interface ServingCerts {
  caPem: string
  certPem: string
  keyPem: string
}

export function generateServingCerts(): ServingCerts {
  const dir = mkdtempSync(path.join(tmpdir(), 'sandbox-certs-'))
  const f = (n: string) => path.join(dir, n)
  const ssl = (...args: string[]) => execFileSync('openssl', args, {stdio: ['ignore', 'ignore', 'pipe']})
  try {
    ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '7', '-subj', '/CN=sandbox-ca',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign')
    ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', f('srv.key'), '-out', f('srv.csr'), '-subj', '/CN=kube-apiserver')
    writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n')
    ssl('x509', '-req', '-in', f('srv.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial',
      '-out', f('srv.crt'), '-days', '7', '-extfile', f('ext.cnf'))
    return {caPem: readFileSync(f('ca.crt'), 'utf8'), certPem: readFileSync(f('srv.crt'), 'utf8'), keyPem: readFileSync(f('srv.key'), 'utf8')}
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}
