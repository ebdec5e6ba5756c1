import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {before, describe, test} from 'node:test'

import {assertBuilt, cli} from './cli.js'

const has = (shell: string) => spawnSync(shell, ['-c', 'exit 0']).status === 0
// bash/zsh/fish completion is exercised on Linux and macOS. On Windows these shells are not the
// target (the plugin's PowerShell script is), so the tests are skipped there.
const skipFor = (shell: string): string | false =>
  process.platform === 'win32' ? `${shell} completion is not exercised on Windows` : has(shell) ? false : `${shell} is not installed on this machine`

before(assertBuilt)

describe('completion', () => {
  const cacheDir = mkdtempSync(path.join(tmpdir(), 'tb-cache-'))
  const env = {TRACEBLOC_CACHE_DIR: cacheDir, HOME: cacheDir, ZDOTDIR: cacheDir}

  test('fish: `complete -C` offers validate after `tracebloc ingest`, and the command\'s flags', {skip: skipFor('fish')}, () => {
    const r = cli(['autocomplete', 'fish'], {env})
    assert.equal(r.status, 0, r.stderr)
    const script = path.join(cacheDir, 'tracebloc.fish')
    writeFileSync(script, r.stdout)
    const fish = (line: string) => {
      const out = spawnSync('fish', ['--no-config', '-c', `source ${script}; complete -C '${line}'`], {encoding: 'utf8', env: {...process.env, ...env}})
      assert.equal(out.status, 0, out.stderr)
      return out.stdout.split('\n').map((l) => l.split('\t')[0])
    }
    assert.ok(fish('tracebloc ingest ').includes('validate'))
    const top = fish('tracebloc ')
    for (const c of ['ingest', 'version', 'autocomplete', 'help']) assert.ok(top.includes(c), c)
    assert.deepEqual(fish('tracebloc ingest validate x.yaml --').filter((l) => l.startsWith('--')).sort(), ['--json', '--verbose'])
    assert.ok(fish('tracebloc autocomplete ').includes('fish'))
    assert.ok(fish('tracebloc autocomplete ').includes('bash'))
  })

  test('fish: the short name `tb` completes like `tracebloc` when fish autoloads tb.fish by name', {skip: skipFor('fish')}, () => {
    // fish loads ~/.config/fish/completions/<command>.fish on first use of <command>, and only for
    // commands on PATH; tb.fish is the same script (a symlink, as the installers make it).
    const home = mkdtempSync(path.join(tmpdir(), 'tb-fish-'))
    const completions = path.join(home, '.config', 'fish', 'completions')
    const binDir = path.join(home, 'bin')
    mkdirSync(completions, {recursive: true})
    mkdirSync(binDir)
    const r = cli(['autocomplete', 'fish'], {env})
    assert.equal(r.status, 0, r.stderr)
    writeFileSync(path.join(completions, 'tracebloc.fish'), r.stdout)
    symlinkSync('tracebloc.fish', path.join(completions, 'tb.fish'))
    for (const name of ['tracebloc', 'tb']) writeFileSync(path.join(binDir, name), '#!/bin/sh\n', {mode: 0o755})
    const fish = (line: string) => {
      const out = spawnSync('fish', ['-c', `complete -C '${line}'`], {
        encoding: 'utf8', cwd: home, env: {...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), PATH: `${binDir}:${process.env.PATH}`},
      })
      assert.equal(out.status, 0, out.stderr)
      return out.stdout.split('\n').filter(Boolean).map((l) => l.split('\t')[0])
    }
    // A fresh fish per call: `tb` is completed without `tracebloc` having been completed first.
    assert.deepEqual(fish('tb '), fish('tracebloc '))
    assert.ok(fish('tb ').includes('ingest'))
    assert.ok(fish('tb ingest ').includes('validate'))
    assert.deepEqual(fish('tb ingest validate x.yaml --').filter((l) => l.startsWith('--')).sort(), ['--json', '--verbose'])
  })

  test('bash: the plugin\'s script loads and completes `tracebloc ingest ` to validate', {skip: skipFor('bash')}, () => {
    const r = cli(['autocomplete', 'bash'], {env})
    assert.equal(r.status, 0, r.stderr)
    const setup = path.join(cacheDir, 'autocomplete', 'bash_setup')
    assert.match(readFileSync(setup, 'utf8'), /source/)
    const out = spawnSync(
      'bash',
      ['-c', `source ${setup}; complete -p tracebloc; COMP_WORDS=(tracebloc ingest ''); COMP_CWORD=2; _tracebloc_autocomplete; printf '%s\\n' "\${COMPREPLY[@]}"`],
      {encoding: 'utf8', env: {...process.env, ...env}},
    )
    assert.equal(out.status, 0, out.stderr)
    assert.match(out.stdout, /^complete -F _tracebloc_autocomplete tracebloc$/m)
    assert.match(out.stdout, /^validate$/m)
    const tb = spawnSync(
      'bash',
      ['-c', `source ${setup}; complete -p tb; COMP_WORDS=(tb ingest ''); COMP_CWORD=2; _tracebloc_autocomplete; printf '%s\\n' "\${COMPREPLY[@]}"`],
      {encoding: 'utf8', env: {...process.env, ...env}},
    )
    assert.equal(tb.status, 0, tb.stderr)
    assert.match(tb.stdout, /^complete -F _tracebloc_autocomplete tb$/m)
    assert.match(tb.stdout, /^validate$/m)
  })

  test('zsh: the plugin\'s setup loads and autoloads _tracebloc with the validate subcommand', {skip: skipFor('zsh')}, () => {
    const r = cli(['autocomplete', 'zsh'], {env})
    assert.equal(r.status, 0, r.stderr)
    const setup = path.join(cacheDir, 'autocomplete', 'zsh_setup')
    const out = spawnSync('zsh', ['-c', `source ${setup}; autoload +X _tracebloc && whence -v _tracebloc && functions _tracebloc`], {encoding: 'utf8', env: {...process.env, ...env}})
    assert.equal(out.status, 0, out.stderr)
    assert.match(out.stdout, /_tracebloc is a shell function/)
    assert.match(out.stdout, /"validate\[Check ingest\.yaml files locally/)
  })

  test('zsh: after compinit both `tracebloc` and `tb` are bound to _tracebloc, before either was completed', {skip: skipFor('zsh')}, () => {
    const r = cli(['autocomplete', '--refresh-cache'], {env})
    assert.equal(r.status, 0, r.stderr)
    const setup = path.join(cacheDir, 'autocomplete', 'zsh_setup')
    const out = spawnSync('zsh', ['-c', `source ${setup}; print -r -- "tracebloc=$_comps[tracebloc] tb=$_comps[tb]"`], {encoding: 'utf8', env: {...process.env, ...env}})
    assert.equal(out.status, 0, out.stderr)
    assert.equal(out.stdout.trim(), 'tracebloc=_tracebloc tb=_tracebloc')
  })

  test('`autocomplete fish` resolves to our command and `autocomplete bash` to the plugin', () => {
    const fish = cli(['autocomplete', 'fish'], {env})
    assert.match(fish.stdout, /^# fish completion for tracebloc/)
    const bash = cli(['autocomplete', 'bash'], {env})
    assert.match(bash.stdout, /Setup Instructions for TRACEBLOC CLI Autocomplete/)
  })
})
