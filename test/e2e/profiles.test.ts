// Profiles reach the real flags: the sandbox cluster tells which kubeconfig, context and namespace a
// command used (the reader context cannot mint a token: exit 5), and push's dry-run plan shows its flags.
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {startSandbox} from '../sandbox/index.js'
import {CATS_DOGS, runCli} from './push-cli.js'

type Sandbox = Awaited<ReturnType<typeof startSandbox>>
let sb: Sandbox
const work = mkdtempSync(path.join(tmpdir(), 'tracebloc-profiles-'))
const env = {TRACEBLOC_CONFIG_HOME: path.join(work, 'config'), TRACEBLOC_CONFIG_DIR: path.join(work, 'go-cli'), KUBECONFIG: '', TRACEBLOC_PROFILE: ''}
const cli = (args: string[], extra: Record<string, string> = {}) => runCli(args, {env: {...env, ...extra}})

before(async () => {
  sb = await startSandbox()
  for (const [k, v] of [['kubeconfig', sb.kubeconfigPath], ['context', 'sandbox-reader']]) {
    const r = await cli(['config', 'set', k, v, '--profile', 'team'])
    assert.equal(r.code, 0, r.stderr)
  }
})
after(async () => {
  await sb?.stop()
  rmSync(work, {recursive: true, force: true})
})

describe('profiles reach the cluster and push flags', () => {
  test('--profile supplies kubeconfig and context; a flag and the environment win over it', async () => {
    // The reader context lacks push's permissions: its own exit code (7), whichever way it was chosen.
    const reader = await cli(['cluster', 'info', '--kubeconfig', sb.kubeconfigPath, '--context', 'sandbox-reader', '--json'])
    assert.equal(reader.code, 7, reader.stderr)
    const viaProfile = await cli(['cluster', 'info', '--profile', 'team', '--json'])
    assert.equal(viaProfile.code, 7, viaProfile.stderr)
    const viaEnvProfile = await cli(['cluster', 'info', '--json'], {TRACEBLOC_PROFILE: 'team'})
    assert.equal(viaEnvProfile.code, 7, viaEnvProfile.stderr)
    const flagWins = await cli(['cluster', 'info', '--profile', 'team', '--context', 'sandbox', '--json'])
    assert.equal(flagWins.code, 0, flagWins.stderr)
    const envWins = await cli(['cluster', 'info', '--profile', 'team', '--json'], {TRACEBLOC_CONTEXT: 'sandbox'})
    assert.equal(envWins.code, 0, envWins.stderr)
    const listed = await cli(['config', 'list', '--profile', 'team', '--show-origin'], {TRACEBLOC_CONTEXT: 'sandbox'})
    assert.match(listed.stdout, /^context=sandbox\tenv TRACEBLOC_CONTEXT$/m)
    assert.match(listed.stdout, new RegExp(`^kubeconfig=${sb.kubeconfigPath.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\tprofile team \\(.*config\\.json:\\d+\\)$`, 'm'))
  })

  test('an unknown profile is exit 2 naming the profiles there are', async () => {
    const r = await cli(['cluster', 'info', '--profile', 'nope'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /no profile "nope" in .*config\.json/)
    assert.match(r.stderr, /profiles: team/)
  })

  test("the Go CLI's active client namespace is the fallback; a profile namespace wins over it", async () => {
    mkdirSync(env.TRACEBLOC_CONFIG_DIR, {recursive: true})
    writeFileSync(path.join(env.TRACEBLOC_CONFIG_DIR, 'config.json'), JSON.stringify({current_env: 'prod', profiles: {prod: {active_client_namespace: 'elsewhere', access_token: 'secret-token-value'}}}))
    try {
      const go = await cli(['cluster', 'info', '--kubeconfig', sb.kubeconfigPath, '--json'])
      assert.equal(go.code, 4, go.stderr) // no client in "elsewhere": the Go CLI's binding was used
      assert.match(go.stdout, /elsewhere/)
      assert.doesNotMatch(go.stdout + go.stderr, /secret-token-value/)
      assert.equal((await cli(['config', 'set', 'namespace', 'tracebloc', '--profile', 'ns'])).code, 0)
      const prof = await cli(['cluster', 'info', '--kubeconfig', sb.kubeconfigPath, '--profile', 'ns', '--json'])
      assert.equal(prof.code, 0, prof.stderr)
      assert.equal(prof.json.namespace, 'tracebloc')
      writeFileSync(path.join(env.TRACEBLOC_CONFIG_DIR, 'config.json'), '{\n  "current_env": "prod",\n  oops\n}')
      const broken = await cli(['cluster', 'info', '--kubeconfig', sb.kubeconfigPath])
      assert.equal(broken.code, 3)
      assert.match(broken.stderr, /go-cli[/\\]config\.json:3: not valid JSON/)
    } finally {
      rmSync(path.join(env.TRACEBLOC_CONFIG_DIR, 'config.json'))
    }
  })

  test("push flags: the profile's intent is the default, --intent overrides it", async () => {
    for (const [k, v] of [['kubeconfig', sb.kubeconfigPath], ['intent', 'test'], ['compress', 'off']]) {
      assert.equal((await cli(['config', 'set', k, v, '--profile', 'push'])).code, 0)
    }
    const r = await cli(['dataset', 'push', CATS_DOGS, '--table', 'profile_dry', '--category', 'image_classification', '--dry-run', '--json', '--profile', 'push'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.intent, 'test')
    const f = await cli(['dataset', 'push', CATS_DOGS, '--table', 'profile_dry', '--category', 'image_classification', '--dry-run', '--json', '--profile', 'push', '--intent', 'train'])
    assert.equal(f.code, 0, f.stderr)
    assert.equal(f.json.intent, 'train')
  })

  test('a bad config file is exit 3 naming the file and line, for every command that reads it', async () => {
    const file = path.join(env.TRACEBLOC_CONFIG_HOME, 'config.json')
    const {readFileSync} = await import('node:fs')
    const good = readFileSync(file, 'utf8')
    try {
      writeFileSync(file, '{\n  "profiles": {\n    "team": {"parallel": "lots"}\n  }\n}\n')
      for (const args of [['cluster', 'info'], ['config', 'list'], ['dataset', 'list']]) {
        const r = await cli(args)
        assert.equal(r.code, 3, `${args.join(' ')}: ${r.stderr}`)
        assert.match(r.stderr, /config\.json:3: profile "team": parallel must be a whole number from 1 to 16, got "lots"/)
        assert.doesNotMatch(r.stderr, /\n\s+at /)
      }
    } finally {
      writeFileSync(file, good)
    }
  })
})
