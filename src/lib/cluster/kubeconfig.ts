// Reading kubeconfig files without ever echoing them. Each file is parsed here first: a syntax
// error is reported with the parser's reason and line:column only (YAML parsers quote the lines
// around the error, which is where tokens live), and every credential in the file is registered
// with the redactor before the Kubernetes client sees the file, so no later message can show it.
import {readFileSync} from 'node:fs'
import {load as loadYaml} from 'js-yaml'

import {registerSecret} from '../output/redact.js'

/** Keys whose values are credentials wherever they appear in a kubeconfig (users, auth-provider config, exec env). */
const SECRET_KEYS = new Set([
  'token',
  'password',
  'client-key-data',
  'client-certificate-data',
  'id-token',
  'refresh-token',
  'access-token',
  'client-secret',
  'idp-certificate-authority-data',
])
/** Exec-plugin arguments that carry a credential in the next argument or after `=`. */
const SECRET_FLAGS = /^--?(token|password|secret|client-secret|api-key|access-key|secret-key)$/i
/** Exec-plugin environment variables treated as secrets by name. */
const SECRET_ENV = /token|secret|password|passwd|key|credential|auth/i

/** A kubeconfig that cannot be read or parsed: the message never contains text from the file. */
export class KubeconfigUnreadable extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'KubeconfigUnreadable'
  }
}

/** Read, parse and register the secrets of one kubeconfig file. */
export function scanKubeconfigFile(file: string): void {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new KubeconfigUnreadable(`${file}: cannot read it (${code ?? 'error'})`)
  }
  scanKubeconfigText(text, file)
}

export function scanKubeconfigText(text: string, file: string): void {
  let doc: unknown
  try {
    doc = loadYaml(text)
  } catch (error) {
    const e = error as {reason?: string; mark?: {line?: number; column?: number}}
    const where = e.mark && typeof e.mark.line === 'number' ? ` at line ${e.mark.line + 1}, column ${(e.mark.column ?? 0) + 1}` : ''
    // the parser's own message quotes the surrounding lines: only its reason and position are kept
    throw new KubeconfigUnreadable(`${file}: not valid YAML: ${e.reason ?? 'syntax error'}${where}`)
  }
  registerKubeconfigSecrets(doc)
  if (doc !== undefined && doc !== null && (typeof doc !== 'object' || Array.isArray(doc))) {
    throw new KubeconfigUnreadable(`${file}: not a kubeconfig (the top level is not a mapping)`)
  }
}

/** Register every credential found anywhere in a parsed kubeconfig. */
export function registerKubeconfigSecrets(node: unknown, key = ''): void {
  if (typeof node === 'string' || typeof node === 'number') {
    const value = String(node)
    if (SECRET_KEYS.has(key)) registerCredential(key, value)
    if (key === 'server' || key === 'proxy-url') registerUrlCredentials(value)
    return
  }
  if (Array.isArray(node)) {
    if (key === 'args') registerSecretArgs(node)
    if (key === 'env') {
      for (const e of node as Array<{name?: unknown; value?: unknown}>) {
        if (e && typeof e.name === 'string' && typeof e.value === 'string' && SECRET_ENV.test(e.name)) registerSecret(e.value)
      }
    }
    for (const item of node) registerKubeconfigSecrets(item, '')
    return
  }
  if (node && typeof node === 'object') {
    const obj = node as Record<string, unknown>
    // Basic auth: the password, and the header value a library could quote
    if (typeof obj.username === 'string' && typeof obj.password === 'string') {
      registerSecret(Buffer.from(`${obj.username}:${obj.password}`).toString('base64'))
    }
    for (const [k, v] of Object.entries(obj)) registerKubeconfigSecrets(v, k)
  }
}

function registerCredential(key: string, value: string): void {
  registerSecret(value)
  if (key.endsWith('-data')) {
    // base64 of a PEM: its decoded form (and each line of it) is as secret as the encoded one
    const decoded = Buffer.from(value, 'base64').toString('utf8')
    registerSecret(decoded)
    for (const line of decoded.split(/\r?\n/)) if (!line.startsWith('-----') && line.length >= 16) registerSecret(line)
  }
}

function registerUrlCredentials(value: string): void {
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/?#@]*)@/i.exec(value.trim())
  if (!m) return
  const userinfo = m[1]
  const colon = userinfo.indexOf(':')
  const password = colon >= 0 ? userinfo.slice(colon + 1) : userinfo
  registerSecret(userinfo)
  registerSecret(password)
  try {
    registerSecret(decodeURIComponent(password))
  } catch {
    // not percent-encoded
  }
}

function registerSecretArgs(args: unknown[]): void {
  for (let i = 0; i < args.length; i++) {
    const a = String(args[i])
    const eq = a.indexOf('=')
    if (eq > 0 && SECRET_FLAGS.test(a.slice(0, eq))) registerSecret(a.slice(eq + 1))
    else if (SECRET_FLAGS.test(a) && i + 1 < args.length) registerSecret(String(args[i + 1]))
  }
}

/** Register the credentials a request is about to carry (exec plugins and auth providers make them at request time). */
export function registerRequestCredentials(opts: {headers?: unknown; auth?: unknown; key?: unknown; cert?: unknown}): void {
  const headers = (opts.headers ?? {}) as Record<string, unknown>
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() !== 'authorization' || typeof value !== 'string') continue
    registerSecret(value)
    registerSecret(value.replace(/^\S+\s+/, ''))
  }
  if (typeof opts.auth === 'string') {
    registerSecret(opts.auth)
    registerSecret(opts.auth.slice(opts.auth.indexOf(':') + 1))
  }
  for (const v of [opts.key, opts.cert]) if (typeof v === 'string' || Buffer.isBuffer(v)) registerSecret(v.toString())
}
