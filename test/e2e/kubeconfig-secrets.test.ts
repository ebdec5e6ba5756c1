// Canaries: every kind of credential a kubeconfig can hold is planted, in every place it can sit
// (user token, bootstrap token, exec plugin output and env, auth-provider config, Basic auth,
// client key and certificate data, user:pass@ in the server URL), in a well-formed file and in
// files broken right next to each secret. Several commands run against the sandbox in text and
// --json, with --verbose; no canary may appear in stdout, stderr or any file the CLI writes.
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, before, test} from 'node:test'

import {startSandbox} from '../sandbox/index.js'
import {CATS_DOGS, runCli} from './push-cli.js'

type Sandbox = Awaited<ReturnType<typeof startSandbox>>
let sb: Sandbox
let dir: string
let home: string

const b64 = (s: string) => Buffer.from(s).toString('base64')
const KEY_BODY = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCCANARYKEYBODYqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIB'
const CERT_BODY = 'MIIDCANARYCERTBODYqhkiG9w0BAQsFADAVMRMwEQYDVQQDEwprdWJlcm5ldGVzMB4XDTI0'
const KEY_PEM = `-----BEGIN PRIVATE KEY-----\n${KEY_BODY}\n-----END PRIVATE KEY-----\n`
const CERT_PEM = `-----BEGIN CERTIFICATE-----\n${CERT_BODY}\n-----END CERTIFICATE-----\n`
const C = {
  static: 'statictokCANARY01xyz',
  bootstrap: 'c4n4ry.0123456789c4n4ry',
  eks: 'k8s-aws-v1.aHR0cHM6Ly9zdHMuQ0FOQVJZLmFtYXpvbmF3cy5jb20',
  awsSecret: 'awsSecretCANARY123456',
  gke: 'ya29.a0AfCANARYgkeTokenxyz',
  idToken: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJDQU5BUlkifQ.c2lnQ0FOQVJZc2ln',
  refresh: 'refreshCANARY7777',
  clientSecret: 'clientsecretCANARY88',
  password: 'basicpwCANARY55',
  urlPassword: 'urlp4ssCANARY9',
  keyData: b64(KEY_PEM),
  certData: b64(CERT_PEM),
}
/** Every string that must never be printed or written: the canaries and their derived forms. */
const FORBIDDEN = [...Object.values(C), KEY_BODY, CERT_BODY, b64(`admin:${C.password}`), 'CANARY']

function kubeconfigText(sandbox: {url: string; ca: string; adminToken: string}): string {
  const port = new URL(sandbox.url).port
  const plugin = `process.stdout.write(JSON.stringify({apiVersion:'client.authentication.k8s.io/v1beta1',kind:'ExecCredential',status:{token:'${C.eks}'}}))`
  return `apiVersion: v1
kind: Config
clusters:
- name: sandbox
  cluster:
    server: ${sandbox.url}
    certificate-authority-data: ${sandbox.ca}
- name: userinfo
  cluster:
    server: https://urluser:${C.urlPassword}@127.0.0.1:${port}
    certificate-authority-data: ${sandbox.ca}
users:
- name: admin
  user:
    token: ${sandbox.adminToken}
- name: static
  user:
    token: ${C.static}
- name: bootstrap
  user:
    token: ${C.bootstrap}
- name: eks
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: ${process.execPath}
      args:
      - -e
      - "${plugin}"
      env:
      - name: AWS_SECRET_ACCESS_KEY
        value: ${C.awsSecret}
      interactiveMode: Never
- name: gke
  user:
    token: ${C.gke}
- name: oidc
  user:
    auth-provider:
      name: oidc
      config:
        idp-issuer-url: https://127.0.0.1:1
        client-id: cli
        client-secret: ${C.clientSecret}
        id-token: ${C.idToken}
        refresh-token: ${C.refresh}
- name: basic
  user:
    username: admin
    password: ${C.password}
- name: certkey
  user:
    client-certificate-data: ${C.certData}
    client-key-data: ${C.keyData}
contexts:
${['admin', 'static', 'bootstrap', 'eks', 'gke', 'oidc', 'basic', 'certkey'].map((u) => `- name: ${u}\n  context:\n    cluster: sandbox\n    user: ${u}\n    namespace: tracebloc`).join('\n')}
- name: userinfo
  context:
    cluster: userinfo
    user: static
    namespace: tracebloc
current-context: admin
`
}

/** Every line holding a canary, broken right after it (bad indentation), one file per line. */
function malformedVariants(text: string): string[] {
  const lines = text.split('\n')
  const out: string[] = []
  lines.forEach((line, i) => {
    if (!FORBIDDEN.some((f) => line.includes(f))) return
    const broken = [...lines.slice(0, i + 1), ' bad: [', ...lines.slice(i + 1)]
    out.push(broken.join('\n'))
  })
  return out
}

function filesUnder(d: string): string[] {
  const out: string[] = []
  for (const e of readdirSync(d, {withFileTypes: true})) {
    const p = path.join(d, e.name)
    if (e.isDirectory()) out.push(...filesUnder(p))
    else if (e.isFile()) out.push(p)
  }
  return out
}

function assertNoCanary(text: string, label: string): void {
  for (const f of [...FORBIDDEN, sb.tokens.admin]) assert.ok(!text.includes(f), `${label}: a kubeconfig secret was printed (${f.slice(0, 12)}…):\n${text.slice(0, 3000)}`)
}

before(async () => {
  sb = await startSandbox()
  dir = mkdtempSync(path.join(os.tmpdir(), 'tb-canary-'))
  home = path.join(dir, 'home')
  mkdirSync(home)
})
after(async () => {
  await sb?.stop()
  if (dir) rmSync(dir, {recursive: true, force: true})
})

const COMMANDS: Array<[string, string[]]> = [
  ['cluster info --verbose', ['cluster', 'info', '--verbose']],
  ['cluster info --json', ['cluster', 'info', '--json', '--verbose']],
  ['dataset list --verbose', ['dataset', 'list', '--verbose']],
  ['dataset list --json', ['dataset', 'list', '--json']],
  ['push --dry-run --verbose', ['dataset', 'push', CATS_DOGS, '--table', 'canary_t', '--category', 'image_classification', '--label-column', 'label', '--dry-run', '--verbose']],
  ['push --dry-run --json', ['dataset', 'push', CATS_DOGS, '--table', 'canary_t', '--category', 'image_classification', '--label-column', 'label', '--dry-run', '--json']],
]

const env = () => ({HOME: home, XDG_CACHE_HOME: path.join(home, '.cache'), XDG_CONFIG_HOME: path.join(home, '.config')})

function sandboxKubeconfig(): string {
  const doc = JSON.parse(readFileSync(sb.kubeconfigPath, 'utf8'))
  return kubeconfigText({url: sb.apiUrl, ca: doc.clusters[0].cluster['certificate-authority-data'], adminToken: sb.tokens.admin})
}

test('a well-formed kubeconfig: no credential of any user reaches the output of any command, working or failing', {timeout: 600_000}, async () => {
  const kc = path.join(dir, 'kubeconfig')
  writeFileSync(kc, sandboxKubeconfig(), {mode: 0o600})
  const codes: string[] = []
  const contexts = ['admin', 'userinfo', 'static', 'bootstrap', 'eks', 'gke', 'oidc', 'basic', 'certkey']
  for (const [n, context] of contexts.entries()) {
    // every command for the working context and the URL one; two (rotating) for each other credential kind
    const commands = n < 2 ? COMMANDS : [COMMANDS[(2 * n) % COMMANDS.length], COMMANDS[(2 * n + 1) % COMMANDS.length]]
    for (const [label, args] of commands) {
      const r = await runCli([...args, '--kubeconfig', kc, '--context', context], {env: env()})
      assertNoCanary(r.stdout + r.stderr, `${context}: ${label}`)
      codes.push(`${context}/${label}: ${r.code}`)
      if (process.env.CANARY_DEBUG) console.log(context, label, r.code, (r.stderr.match(/Error: .*/) ?? r.stdout.match(/"error": .*/) ?? [''])[0])
    }
  }
  // the admin context really works (the canaries of the other users sit in the same file)
  assert.ok(codes.includes('admin/cluster info --json: 0'), codes.join('\n'))
  // the failing contexts really reached the server and failed there, with a message and no stack
  assert.ok(codes.includes('userinfo/cluster info --json: 3'), codes.join('\n'))
  for (const f of filesUnder(home)) assertNoCanary(readFileSync(f, 'latin1'), `file ${path.relative(home, f)}`)
})

test('a malformed kubeconfig: reason and line:column, never a line of the file', {timeout: 600_000}, async () => {
  const variants = malformedVariants(sandboxKubeconfig())
  assert.ok(variants.length >= 12, `one broken file per secret line (${variants.length})`)
  for (const [i, text] of variants.entries()) {
    const kc = path.join(dir, `broken-${i}.yaml`)
    writeFileSync(kc, text, {mode: 0o600})
    // alternate how the file is named and which command and output mode reads it
    const [label, args] = COMMANDS[i % COMMANDS.length]
    const how = i % 2 === 0 ? {args: ['--kubeconfig', kc], env: env()} : {args: [], env: {...env(), KUBECONFIG: `${kc}${path.delimiter}${sb.kubeconfigPath}`}}
    const r = await runCli([...args, ...how.args], {env: how.env})
    const all = r.stdout + r.stderr
    assertNoCanary(all, `variant ${i}: ${label}`)
    assert.equal(r.code, 3, `variant ${i}: ${all}`)
    assert.match(all, /not valid YAML: .* at line \d+, column \d+/, `variant ${i}`)
    assert.doesNotMatch(all, /^\s*\d+ \|/m, `variant ${i}: no quoted file lines`)
  }
  for (const f of filesUnder(home)) {
    assert.ok(statSync(f).isFile())
    assertNoCanary(readFileSync(f, 'latin1'), `file ${path.relative(home, f)}`)
  }
})
