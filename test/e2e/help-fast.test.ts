// Help and the fish completion script are answered from the manifests without loading oclif's
// runtime (src/lib/fast/help.ts, fish.ts).
// It must print exactly what oclif prints: every command, alias and topic, the root, bare topics,
// at several terminal widths and with colour, compared with TRACEBLOC_FAST_PATH=0 (oclif itself);
// and off a terminal at oclif's default width, from the text the build stored (src/lib/fast/help-cache.ts).
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {before, describe, test} from 'node:test'

import {assertBuilt, cli, root} from './cli.js'

interface ManifestCommand {
  id: string
  aliases?: string[]
}
const commands = () => Object.values((JSON.parse(readFileSync(path.join(root, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, ManifestCommand>}).commands)
const ids = () => [...new Set(commands().flatMap((c) => [c.id, ...(c.aliases ?? [])]))]
// Topics come from command ids, not aliases (`data` is an alias prefix, not a topic).
const topics = () => [...new Set(commands().filter((c) => c.id.includes(':')).map((c) => c.id.split(':')[0]))]
const OCLIF = {TRACEBLOC_FAST_PATH: '0'}

before(assertBuilt)

describe('help: fast path and oclif print the same', () => {
  test('every command and alias (-h, --help), every topic (bare and --help), the root', () => {
    const cases = [[], ['--help'], ['-h'], ['autocomplete', '--help'], ['help', '--help'], ...topics().flatMap((t) => [[t], [t, '--help']])]
    for (const id of ids()) cases.push([...id.split(':'), '--help'], ['-h', ...id.split(':')])
    for (const args of cases) {
      // no OCLIF_COLUMNS: off a terminal, 80 columns, the stored text
      for (const columns of ['40', '120', undefined]) {
        const env: Record<string, string> = columns ? {OCLIF_COLUMNS: columns} : {}
        const fast = cli(args, {env})
        const oclif = cli(args, {env: {...env, ...OCLIF}})
        assert.deepEqual(fast, oclif, `tracebloc ${args.join(' ')} (${columns ?? 'default'} columns)`)
        // (bare `ingest` is also the push alias: it runs, and fails without a path, on both paths)
        if (args.some((a) => a.startsWith('-'))) assert.equal(fast.status, 0, `tracebloc ${args.join(' ')}`)
      }
    }
  })

  test('with colour (bold section headers), as on a terminal', () => {
    for (const args of [['--help'], ['dataset'], ['dataset', 'push', '--help'], ['cluster', 'info', '-h']]) {
      const env = {NO_COLOR: '', FORCE_COLOR: '1'}
      const fast = cli(args, {env})
      assert.ok(fast.stdout.includes('\u001B[1mUSAGE'), 'colour is on') // the check can fail
      assert.deepEqual(fast, cli(args, {env: {...env, ...OCLIF}}), `tracebloc ${args.join(' ')}`)
    }
  })

  test('`autocomplete fish`: the same script', () => {
    const fast = cli(['autocomplete', 'fish'])
    assert.match(fast.stdout, /^complete -c tracebloc -n '__tracebloc_on dataset push' -l overwrite/m) // the check can fail
    assert.deepEqual(fast, cli(['autocomplete', 'fish'], {env: OCLIF}))
  })

  test('what it does not answer goes to oclif unchanged: unknown words, other flags, `help <topic>`', () => {
    for (const args of [['dataset', 'psh', '--help'], ['nope'], ['dataset', '--json'], ['help', 'dataset'], ['dataset', 'push', './dir', '--help']]) {
      assert.deepEqual(cli(args), cli(args, {env: OCLIF}), `tracebloc ${args.join(' ')}`)
    }
  })
})

describe('help and completion start-up imports', () => {
  for (const args of [['dataset', 'list', '--help'], ['--help'], ['dataset'], ['autocomplete', 'fish']]) {
    test(`\`tracebloc ${args.join(' ')}\` loads none of @oclif/core's runtime`, () => {
      const file = path.join(mkdtempSync(path.join(tmpdir(), 'imports-')), 'imports.txt')
      const r = cli(args, {env: {RECORD_IMPORTS_FILE: file}, nodeArgs: ['--import', path.join(root, 'test/helpers/record-imports.mjs')]})
      assert.equal(r.status, 0, r.stderr)
      const loaded = readFileSync(file, 'utf8').split('\n').map((u) => u.replaceAll('\\', '/'))
      assert.ok(loaded.some((u) => u.includes('/dist/')), 'the recorder saw the CLI load') // the check can fail
      const runtime = loaded.filter((u) => /\/@oclif\/core\/lib\/(index|config|main|execute|command|parser)/.test(u) || u.includes('/semver/'))
      assert.deepEqual(runtime, [])
    })
  }
})

describe('help text stored at build time', () => {
  /** A copy of the package (bin, package.json, manifest) over the real dist/ and node_modules, with its own dist/lib/fast. */
  const copy = (edit: (dir: string) => void) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'help-cache-'))
    mkdirSync(path.join(dir, 'bin'))
    copyFileSync(path.join(root, 'bin/run.js'), path.join(dir, 'bin/run.js'))
    for (const f of ['package.json', 'oclif.manifest.json']) copyFileSync(path.join(root, f), path.join(dir, f))
    mkdirSync(path.join(dir, 'dist'))
    for (const entry of ['node_modules', 'schema']) symlinkSync(path.join(root, entry), path.join(dir, entry))
    for (const entry of readdirSync(path.join(root, 'dist'))) if (entry !== 'lib') symlinkSync(path.join(root, 'dist', entry), path.join(dir, 'dist', entry))
    mkdirSync(path.join(dir, 'dist/lib'))
    for (const entry of readdirSync(path.join(root, 'dist/lib'))) if (entry !== 'fast') symlinkSync(path.join(root, 'dist/lib', entry), path.join(dir, 'dist/lib', entry))
    cpSync(path.join(root, 'dist/lib/fast'), path.join(dir, 'dist/lib/fast'), {recursive: true})
    edit(dir)
    return (args: string[], env: Record<string, string> = {}) => spawnSync(process.execPath, [path.join(dir, 'bin/run.js'), ...args], {cwd: root, encoding: 'utf8', env: {...process.env, NO_COLOR: '1', TRACEBLOC_SKIP_NEW_VERSION_CHECK: 'true', ...env}}).stdout
  }
  const plant = (dir: string) => {
    const file = path.join(dir, 'dist/lib/fast/help-text.json')
    const cache = JSON.parse(readFileSync(file, 'utf8')) as {texts: Record<string, string>}
    cache.texts['help dataset push'] = 'PLANTED\n'
    writeFileSync(file, JSON.stringify(cache))
  }

  test('off a terminal without colour the stored text is printed; with a width or colour asked for, help is rendered', () => {
    const run = copy(plant)
    assert.equal(run(['dataset', 'push', '--help']), 'PLANTED\n') // served from the store (the check can fail)
    const real = cli(['dataset', 'push', '--help'], {env: OCLIF}).stdout
    assert.equal(run(['dataset', 'push', '--help'], {OCLIF_COLUMNS: '80'}), real)
    assert.equal(run(['dataset', 'push', '--help'], {NO_COLOR: '', FORCE_COLOR: '1'}), cli(['dataset', 'push', '--help'], {env: {...OCLIF, NO_COLOR: '', FORCE_COLOR: '1'}}).stdout)
  })

  test('a store made from another manifest or version is not used', () => {
    const grown = copy((dir) => {
      plant(dir)
      const file = path.join(dir, 'oclif.manifest.json')
      writeFileSync(file, readFileSync(file, 'utf8') + ' ')
    })
    assert.equal(grown(['dataset', 'push', '--help']), cli(['dataset', 'push', '--help'], {env: OCLIF}).stdout)
    const bumped = copy((dir) => {
      plant(dir)
      // the same version in both, so the fast path still applies; only the store's stamp is off
      const {version} = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {version: string}
      for (const f of ['package.json', 'oclif.manifest.json']) {
        const file = path.join(dir, f)
        const doc = JSON.parse(readFileSync(file, 'utf8')) as {version: string}
        assert.equal(doc.version, version)
        writeFileSync(file, JSON.stringify({...doc, version: `${version}-next`}, null, 2))
      }
    })
    assert.doesNotMatch(bumped(['dataset', 'push', '--help']), /PLANTED/)
    assert.match(bumped(['dataset', 'push', '--help']), /^USAGE/m)
  })
})

describe('a lifecycle hook the fast paths would skip', () => {
  // A copy of the package whose package.json declares an `init` hook (as an update notice would):
  // every fast path must leave the command to oclif, which runs the hook.
  test('help, version, validate and `autocomplete fish` go through oclif and the hook runs', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hooked-'))
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {oclif: {hooks: Record<string, unknown>}}
    pkg.oclif.hooks.init = './init-hook.js'
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pkg))
    writeFileSync(path.join(dir, 'init-hook.js'), "export default async function () { process.stderr.write('init hook ran\\n') }\n")
    mkdirSync(path.join(dir, 'bin'))
    copyFileSync(path.join(root, 'bin/run.js'), path.join(dir, 'bin/run.js'))
    for (const entry of ['dist', 'node_modules', 'schema', 'oclif.manifest.json']) symlinkSync(path.join(root, entry), path.join(dir, entry))
    for (const args of [['--help'], ['dataset', 'list', '--help'], ['version'], ['ingest', 'validate', 'test/fixtures/examples/image_classification.yaml'], ['autocomplete', 'fish']]) {
      const r = spawnSync(process.execPath, [path.join(dir, 'bin/run.js'), ...args], {cwd: root, encoding: 'utf8', env: {...process.env, NO_COLOR: '1'}})
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, /init hook ran/, `tracebloc ${args.join(' ')}`)
    }
  })
})
