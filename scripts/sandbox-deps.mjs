// The system packages the sandbox cluster runs on (Linux): bubblewrap and a static busybox for its pods,
// MariaDB for the client's mysql-client database. `npm run demo` and `npm test` install them when they
// are missing and this is a root shell with apt-get (as CI does); otherwise they name the command.
//
// Besides those, a second busybox for the sandbox's alpine:3.20 pods: Debian trixie's busybox-static
// (1.37, hardware SHA-256 like alpine 3.20's 1.36), where the system's bookworm 1.35 hashes SHA-256 in
// software. Only its binary is kept, outside the system's package tree; apt's own state is not touched.
// Run alone with `node scripts/sandbox-deps.mjs` (root) to set everything up.
import {spawnSync} from 'node:child_process'
import {chmodSync, chownSync, existsSync, mkdirSync, copyFileSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd} || [ -x /usr/sbin/${cmd} ]`], {stdio: 'ignore'}).status === 0

/** The Debian packages still missing (empty off Linux: the sandbox does not run there at all). */
export function missingSandboxPackages() {
  if (process.platform !== 'linux') return []
  const need = []
  if (!has('bwrap')) need.push('bubblewrap')
  if (!existsSync(process.env.SANDBOX_BUSYBOX ?? '/bin/busybox')) need.push('busybox-static')
  if (!has('mariadbd')) need.push('mariadb-server')
  if (!has('mysql')) need.push('mariadb-client')
  return need
}

/**
 * Install what is missing when we can (root + apt-get), and fetch the alpine:3.20 pods' busybox (optional:
 * without it those pods get the system busybox); returns the packages still missing.
 */
export function ensureSandboxPackages(log = (s) => console.error(s)) {
  const missing = installMissingPackages(log)
  ensureAlpineBusybox(log)
  return missing
}

function installMissingPackages(log) {
  const need = missingSandboxPackages()
  if (need.length === 0) return []
  if (process.getuid?.() !== 0 || !has('apt-get')) return need
  log(`setup: installing ${need.join(' ')} for the sandbox cluster (apt-get)`)
  const r = spawnSync('sh', ['-c', `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${need.join(' ')}`], {stdio: ['ignore', 'ignore', 'inherit']})
  return r.status === 0 ? missingSandboxPackages() : need
}

/** Where the trixie busybox lives (test/sandbox/kubelet/rootfs.ts reads the same path). */
export const ALPINE_BUSYBOX = process.env.SANDBOX_ALPINE_BUSYBOX ?? '/opt/tracebloc-sandbox/busybox-trixie/busybox'
const DEBIAN_MIRROR = 'http://deb.debian.org/debian'
const SHA256_ABC = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'

/** True when `bin` runs and its sha256sum of "abc" is the FIPS 180-2 test vector. */
function busyboxWorks(bin) {
  const r = spawnSync(bin, ['sha256sum'], {input: 'abc', encoding: 'utf8'})
  return r.status === 0 && r.stdout.startsWith(SHA256_ABC)
}

/**
 * Fetch trixie's busybox-static binary to ALPINE_BUSYBOX unless it is there: apt-get with a throwaway
 * source list, lists and cache (signed index checked against Debian's keyring), dpkg-deb -x, keep
 * usr/bin/busybox. Returns whether it is in place; on failure says so in one line (the sandbox then
 * gives alpine:3.20 pods the system busybox too).
 */
export function ensureAlpineBusybox(log = (s) => console.error(s)) {
  if (process.platform !== 'linux' || existsSync(ALPINE_BUSYBOX)) return existsSync(ALPINE_BUSYBOX)
  const fallback = 'the sandbox gives alpine:3.20 pods the system busybox instead'
  if (process.env.SANDBOX_ALPINE_BUSYBOX !== undefined) {
    log(`setup: SANDBOX_ALPINE_BUSYBOX=${ALPINE_BUSYBOX} does not exist; ${fallback}`)
    return false
  }
  if (process.getuid?.() !== 0 || !has('apt-get') || !has('dpkg-deb')) {
    log(`setup: trixie's busybox-static is not at ${ALPINE_BUSYBOX} (fetched by a root shell with apt-get: node scripts/sandbox-deps.mjs); ${fallback}`)
    return false
  }
  log(`setup: fetching Debian trixie's busybox-static for the sandbox's alpine:3.20 pods (${ALPINE_BUSYBOX})`)
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'tracebloc-busybox-'))
  try {
    chmodSync(tmp, 0o755)
    const arch = spawnSync('dpkg', ['--print-architecture'], {encoding: 'utf8'}).stdout.trim() || 'amd64'
    for (const d of ['lists/partial', 'cache/archives/partial', 'sources.list.d', 'deb']) mkdirSync(path.join(tmp, d), {recursive: true})
    writeFileSync(path.join(tmp, 'sources.list'), `deb [arch=${arch} signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${DEBIAN_MIRROR} trixie main\n`)
    // apt drops to _apt for downloads: let it write the .deb (else it warns and downloads as root)
    try {
      const id = spawnSync('id', ['-u', '_apt'], {encoding: 'utf8'})
      if (id.status === 0) chownSync(path.join(tmp, 'deb'), Number(id.stdout.trim()), 0)
    } catch { /* downloads unsandboxed then */ }
    const opts = [
      '-o', `Dir::Etc::SourceList=${path.join(tmp, 'sources.list')}`,
      '-o', `Dir::Etc::SourceParts=${path.join(tmp, 'sources.list.d')}`,
      '-o', `Dir::State::Lists=${path.join(tmp, 'lists')}`,
      '-o', `Dir::Cache=${path.join(tmp, 'cache')}`,
      '-o', 'Acquire::Languages=none',
      '-qq',
    ]
    const run = (args, cwd) => spawnSync('apt-get', [...opts, ...args], {cwd, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe']})
    const upd = run(['update'])
    // apt-get update exits 0 on some fetch errors; it reports them as W:/E: lines on stderr
    if (upd.status !== 0 || /^E:/m.test(upd.stderr)) throw new Error(`apt-get update (trixie): ${firstLine(upd.stderr)}`)
    const dl = run(['download', 'busybox-static/trixie'], path.join(tmp, 'deb'))
    const deb = readdirSync(path.join(tmp, 'deb')).find((f) => f.startsWith('busybox-static_') && f.endsWith('.deb'))
    if (dl.status !== 0 || !deb) throw new Error(`apt-get download busybox-static/trixie: ${firstLine(dl.stderr)}`)
    const x = spawnSync('dpkg-deb', ['-x', path.join(tmp, 'deb', deb), path.join(tmp, 'x')], {encoding: 'utf8'})
    const bin = path.join(tmp, 'x', 'usr', 'bin', 'busybox')
    if (x.status !== 0 || !existsSync(bin)) throw new Error(`dpkg-deb -x ${deb}: ${firstLine(x.stderr) || 'no usr/bin/busybox'}`)
    if (!busyboxWorks(bin)) throw new Error(`${deb}: busybox sha256sum gave the wrong digest`)
    mkdirSync(path.dirname(ALPINE_BUSYBOX), {recursive: true})
    // rename within one directory: a concurrent run never sees a half-written binary
    const part = `${ALPINE_BUSYBOX}.part-${process.pid}`
    copyFileSync(bin, part)
    chmodSync(part, 0o755)
    renameSync(part, ALPINE_BUSYBOX)
    return true
  } catch (e) {
    log(`setup: could not fetch trixie's busybox-static (${e.message}); ${fallback}`)
    return false
  } finally {
    rmSync(tmp, {recursive: true, force: true})
  }
}

const firstLine = (s) => (s ?? '').split('\n').find((l) => l.trim()) ?? ''

// `node scripts/sandbox-deps.mjs`: set up everything, print what is still missing;
// `node scripts/sandbox-deps.mjs alpine-busybox`: only the alpine:3.20 pods' busybox (exit 0 either way).
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv[2] === 'alpine-busybox') {
    if (ensureAlpineBusybox()) console.log(`sandbox: alpine:3.20 pods get ${ALPINE_BUSYBOX}`)
    process.exit(0)
  }
  const missing = ensureSandboxPackages()
  const alpine = existsSync(ALPINE_BUSYBOX)
  if (missing.length > 0) console.error(`sandbox: missing ${missing.join(' ')} (sudo apt-get install ${missing.join(' ')})`)
  console.log(`sandbox: system busybox ${process.env.SANDBOX_BUSYBOX ?? '/bin/busybox'}; alpine:3.20 busybox ${alpine ? ALPINE_BUSYBOX : '(system busybox: trixie busybox-static absent)'}`)
  process.exit(missing.length > 0 ? 1 : 0)
}
