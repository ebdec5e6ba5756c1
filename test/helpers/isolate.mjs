// Loaded into every test file's process by the runner (`--import`): the file gets its own HOME, XDG
// dirs and TMPDIR under the run's directory, so nothing a test or the CLI it starts writes lands in
// the real user's cache or config (recent runs, hash caches, kubectl's cache, shell history), and no
// file sees another's leftovers. npm keeps the user's cache (through ~/.npmrc) so installs stay quick.
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const base = process.env.TRACEBLOC_TEST_RUN_DIR
if (base && process.env.TRACEBLOC_TEST_ISOLATED !== String(process.pid)) {
  const realNpmCache = process.env.TRACEBLOC_TEST_NPM_CACHE ?? process.env.npm_config_cache ?? path.join(os.homedir(), '.npm')
  const dir = mkdtempSync(path.join(base, 'file-'))
  const home = path.join(dir, 'home')
  const env = {
    HOME: home,
    XDG_CACHE_HOME: path.join(home, '.cache'),
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_DATA_HOME: path.join(home, '.local', 'share'),
    XDG_STATE_HOME: path.join(home, '.local', 'state'),
    TMPDIR: path.join(dir, 'tmp'),
  }
  for (const d of Object.values(env)) mkdirSync(d, {recursive: true})
  writeFileSync(path.join(home, '.npmrc'), `cache=${realNpmCache}\n`)
  Object.assign(process.env, env, {TRACEBLOC_TEST_ISOLATED: String(process.pid), TRACEBLOC_TEST_NPM_CACHE: realNpmCache})
  if (process.platform === 'win32') Object.assign(process.env, {USERPROFILE: home, TEMP: env.TMPDIR, TMP: env.TMPDIR})
  process.on('exit', () => rmSync(dir, {recursive: true, force: true, maxRetries: 3}))
}
