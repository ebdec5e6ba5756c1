import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {after, describe, test} from 'node:test'

import {flagsGiven, profileArg} from '../../src/lib/config/apply.js'
import {parseConfig, writeConfig} from '../../src/lib/config/file.js'
import {configDir} from '../../src/lib/config/paths.js'
import {resolveSettings} from '../../src/lib/config/resolve.js'
import {CliError} from '../../src/lib/output/errors.js'

const work = mkdtempSync(path.join(tmpdir(), 'tracebloc-config-unit-'))
after(() => rmSync(work, {recursive: true, force: true}))

function fails(text: string, message: RegExp): void {
  assert.throws(() => parseConfig('/x/config.json', text), (e: unknown) => e instanceof CliError && e.exitCode === 3 && message.test(e.message))
}

describe('config file', () => {
  test('errors name the file and the line', () => {
    fails('{\n  "profiles": {\n    "a": {"namespace": "x",}\n  }\n}', /^\/x\/config\.json:3: not valid JSON/)
    fails('{\n  "profiles": {\n    "a": {\n      "colour": "red"\n    }\n  }\n}', /^\/x\/config\.json:4: unknown setting "colour" in profile "a"/)
    fails('{"profiles": {"a": {"compress": "maybe"}}}', /:1: profile "a": compress must be one of auto, on, off/)
    fails('{\n"profiles": {},\n"extra": 1}', /:3: unknown top-level key "extra"/)
    fails('[]', /:1: the file must hold a JSON object/)
    fails('{"profiles": {"a b": {}}}', /invalid profile name "a b"/)
    fails('{"profiles": {\n', /:2: not valid JSON/)
  })

  test('values take their flag types; an empty file has no profiles', () => {
    assert.deepEqual(parseConfig('f', '{"profiles": {"p": {"parallel": "4", "intent": "test"}}}').profiles, {p: {parallel: 4, intent: 'test'}})
    assert.deepEqual(parseConfig('f', '  \n').profiles, {})
  })

  test('writes round-trip and drop empty profiles', () => {
    const file = path.join(work, 'w', 'config.json')
    writeConfig(file, {a: {namespace: 'n'}, empty: {}})
    assert.deepEqual(parseConfig(file, readFileSync(file, 'utf8')).profiles, {a: {namespace: 'n'}})
  })

  test('platform directories', () => {
    assert.equal(configDir({XDG_CONFIG_HOME: '/xdg'}, 'linux'), '/xdg/tracebloc')
    assert.match(configDir({}, 'darwin'), /Library\/Application Support\/tracebloc$/)
    assert.equal(configDir({APPDATA: 'C:\\Users\\u\\AppData\\Roaming'}, 'win32'), path.join('C:\\Users\\u\\AppData\\Roaming', 'tracebloc'))
    assert.equal(configDir({TRACEBLOC_CONFIG_HOME: '/o', XDG_CONFIG_HOME: '/xdg'}, 'linux'), '/o')
  })
})

describe('resolution: env > profile > Go CLI namespace', () => {
  const home = path.join(work, 'r')
  const go = path.join(work, 'go')
  writeConfig(path.join(home, 'config.json'), {default: {namespace: 'from-default'}, prod: {context: 'prod-ctx', parallel: 3}})
  writeConfig(path.join(go, 'x.json'), {})
  writeFileSync(path.join(go, 'config.json'), JSON.stringify({current_env: 'stg', profiles: {stg: {active_client_namespace: 'go-ns', token: 't'}}}))
  const env = (extra: Record<string, string> = {}) => ({TRACEBLOC_CONFIG_HOME: home, TRACEBLOC_CONFIG_DIR: go, ...extra})

  test('the default profile, then the environment over it', () => {
    assert.deepEqual(resolveSettings({env: env()}).settings.get('namespace'), {value: 'from-default', origin: {source: 'profile', profile: 'default', file: path.join(home, 'config.json'), line: 4}})
    assert.deepEqual(resolveSettings({env: env({TRACEBLOC_NAMESPACE: 'e'})}).settings.get('namespace')?.origin, {source: 'env', name: 'TRACEBLOC_NAMESPACE'})
  })

  test('--profile over TRACEBLOC_PROFILE; a named profile must exist', () => {
    assert.equal(resolveSettings({env: env({TRACEBLOC_PROFILE: 'nope'}), profileFlag: 'prod'}).settings.get('parallel')?.value, 3)
    assert.throws(() => resolveSettings({env: env({TRACEBLOC_PROFILE: 'nope'})}), /no profile "nope"/)
  })

  test("the Go CLI's namespace only when no namespace or context was chosen", () => {
    rmSync(path.join(home, 'config.json'))
    assert.deepEqual(resolveSettings({env: env()}).settings.get('namespace'), {value: 'go-ns', origin: {source: 'go-cli', file: path.join(go, 'config.json')}})
    assert.equal(resolveSettings({env: env({TRACEBLOC_CONTEXT: 'c'})}).settings.get('namespace'), undefined)
    assert.equal(resolveSettings({env: env(), flagsGiven: new Set(['context'])}).settings.get('namespace'), undefined)
  })

  test('bad environment values are exit 2', () => {
    assert.throws(() => resolveSettings({env: env({TRACEBLOC_PARALLEL: '99'})}), (e: unknown) => e instanceof CliError && e.exitCode === 2 && /TRACEBLOC_PARALLEL: parallel must be/.test(e.message))
  })
})

test('argv scanning before oclif parses', () => {
  assert.equal(profileArg(['push', '--profile', 'p']), 'p')
  assert.equal(profileArg(['--profile=q']), 'q')
  assert.equal(profileArg(['--', '--profile', 'p']), undefined)
  assert.deepEqual([...flagsGiven(['-n', 'x', '--context=c', 'path'], {namespace: {char: 'n'}} as never)], ['namespace', 'context'])
})
