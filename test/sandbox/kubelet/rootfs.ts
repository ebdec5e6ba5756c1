// Image filesystems. Every image name maps to a busybox root (so the stage pod's `alpine:3.20@sha256:…`
// gets sh/tar/mv/rm/find/sha256sum/head), except two: the tracebloc ingestor image, whose "filesystem" is
// the host's /usr + /lib read-only plus this repo (Node + the emulation script), and the mysql-client
// image, the host's /usr read-only too (Debian's MariaDB server and its `mysql` client, sh, head).
//
// Two busyboxes, so both kinds of pod a cluster may run are there: alpine ≥ 3.20 ships busybox 1.36 with
// hardware SHA-256 (sha256sum faster than md5sum), older alpine and busybox:1.35-like images a software
// one (md5sum faster). alpine:3.20+ roots get Debian trixie's busybox-static 1.37, which behaves like the
// former (fetched by scripts/sandbox-deps.mjs; SANDBOX_ALPINE_BUSYBOX overrides); every other busybox root,
// and alpine:3.20+ when that binary is absent, gets the system's bookworm 1.35 (SANDBOX_BUSYBOX overrides).
import {execFileSync} from 'node:child_process'
import * as fs from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
export const BUSYBOX = process.env.SANDBOX_BUSYBOX ?? '/bin/busybox'
/** Same default path as scripts/sandbox-deps.mjs, which puts it there. */
export const ALPINE_BUSYBOX = process.env.SANDBOX_ALPINE_BUSYBOX ?? '/opt/tracebloc-sandbox/busybox-trixie/busybox'
const INGESTOR_MAIN = path.join(REPO_ROOT, 'test', 'sandbox', 'release', 'ingestor', 'main.ts')

export function isIngestorImage(image: string): boolean {
  return /(^|\/)tracebloc\/ingestor([:@]|$)/.test(image)
}

export function isMysqlImage(image: string): boolean {
  return /(^|\/)tracebloc\/mysql-client([:@]|$)/.test(image)
}

/** Images whose filesystem is the host's runtime (read-only) rather than a busybox root. */
export function isHostRuntimeImage(image: string): boolean {
  return isIngestorImage(image) || isMysqlImage(image)
}

export const MYSQL_ENTRYPOINT = path.join(REPO_ROOT, 'test', 'sandbox', 'release', 'mysql', 'entrypoint.sh')

/** Checks the host tools are there, with the install line when they are not. */
export function checkHostTools(): void {
  for (const [bin, pkg] of [['bwrap', 'bubblewrap'], [BUSYBOX, 'busybox-static'], ['mariadbd', 'mariadb-server mariadb-client']]) {
    try {
      execFileSync(bin === 'bwrap' ? 'bwrap' : bin, ['--version'], {stdio: 'ignore'})
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`sandbox kubelet needs ${bin}: apt-get install -y ${pkg}`, {cause: e})
    }
  }
}

/** alpine 3.20 or later by tag (untagged and `latest` count as current); any registry or library/ prefix. */
export function isAlpine320OrLater(image: string): boolean {
  const m = /^(?:[^/]+\/)*alpine(?::([^@]+))?(?:@.*)?$/.exec(image)
  if (!m) return false
  const tag = m[1] ?? 'latest'
  if (tag === 'latest' || tag === 'edge') return true
  const v = /^(\d+)\.(\d+)/.exec(tag)
  return !!v && (Number(v[1]) > 3 || (Number(v[1]) === 3 && Number(v[2]) >= 20))
}

/** The busybox binary for an image's root: trixie's for alpine ≥ 3.20 when present, else the system's. */
export function busyboxFor(image: string): string {
  return isAlpine320OrLater(image) && fs.existsSync(ALPINE_BUSYBOX) ? ALPINE_BUSYBOX : BUSYBOX
}

/**
 * A stage image whose busybox lacks the hash applets (no sha256sum, md5sum or other *sum links), like a
 * custom --stage-image built without them: the CLI must refuse it rather than skip its check.
 */
export const NO_HASH_TOOLS_IMAGE = 'sandbox.local/no-hash-tools:1'
const HASH_APPLET = /^(md5|sha\d*|sha3)sum$/
/** A stage image whose sha256sum and md5sum run but check nothing (exit 0, no output): a check must not pass on silence. */
export const SILENT_HASH_IMAGE = 'sandbox.local/silent-hash:1'

// per binary: 1.37 has applets 1.35 lacks
const applets = new Map<string, string[]>()

/** A fresh, writable busybox root for one pod (copied, so pods cannot see each other's writes). */
export function makeBusyboxRoot(dir: string, mountPoints: string[], image: string): void {
  const busybox = busyboxFor(image)
  let list = applets.get(busybox)
  if (!list) applets.set(busybox, (list = execFileSync(busybox, ['--list'], {encoding: 'utf8'}).split('\n').filter((a) => a && a !== 'busybox')))
  for (const d of ['bin', 'usr', 'etc', 'tmp', 'proc', 'dev', 'root', 'home', 'var/run', 'data']) fs.mkdirSync(path.join(dir, d), {recursive: true})
  fs.chmodSync(path.join(dir, 'tmp'), 0o1777)
  fs.copyFileSync(busybox, path.join(dir, 'bin', 'busybox'))
  fs.chmodSync(path.join(dir, 'bin', 'busybox'), 0o755)
  for (const a of list) {
    if (image === NO_HASH_TOOLS_IMAGE && HASH_APPLET.test(a)) continue
    if (image === SILENT_HASH_IMAGE && (a === 'sha256sum' || a === 'md5sum')) fs.writeFileSync(path.join(dir, 'bin', a), '#!/bin/sh\n[ $# -gt 0 ] || cat >/dev/null\nexit 0\n', {mode: 0o755})
    else fs.symlinkSync('busybox', path.join(dir, 'bin', a))
  }
  // busybox's own sh runs its built-in applets whatever the links say: these two images get the host's dash
  // as /bin/sh, so a missing or replaced hash command is really missing or replaced
  if (image === NO_HASH_TOOLS_IMAGE || image === SILENT_HASH_IMAGE) useHostDash(dir)
  fs.symlinkSync('../bin', path.join(dir, 'usr', 'bin'))
  fs.symlinkSync('bin', path.join(dir, 'sbin'))
  fs.symlinkSync('../bin', path.join(dir, 'usr', 'sbin'))
  fs.writeFileSync(path.join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnonroot:x:65532:65532:nonroot:/home/nonroot:/bin/sh\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n')
  fs.writeFileSync(path.join(dir, 'etc', 'group'), 'root:x:0:\nnonroot:x:65532:\nnogroup:x:65534:\n')
  fs.writeFileSync(path.join(dir, 'etc', 'os-release'), 'NAME="Alpine Linux (sandbox busybox)"\nID=alpine\n')
  for (const m of mountPoints) fs.mkdirSync(path.join(dir, m), {recursive: true})
}

/** /bin/sh = a copy of the host's /bin/dash, with the shared libraries it loads copied to the same paths. */
function useHostDash(dir: string): void {
  const sh = path.join(dir, 'bin', 'sh')
  fs.rmSync(sh, {force: true})
  fs.copyFileSync('/bin/dash', sh)
  fs.chmodSync(sh, 0o755)
  for (const m of execFileSync('ldd', ['/bin/dash'], {encoding: 'utf8'}).matchAll(/(\/\S+) \(0x/g)) {
    const lib = m[1]
    fs.mkdirSync(path.join(dir, path.dirname(lib)), {recursive: true})
    fs.copyFileSync(lib, path.join(dir, lib))
  }
}

/** The host runtime, read-only, with an empty /etc (no host my.cnf; mounts under /etc get a place to go). */
function hostRuntimeBinds(): string[] {
  const binds: string[] = []
  for (const p of ['/usr', '/lib', '/lib64', '/bin', '/sbin']) {
    if (fs.existsSync(p)) binds.push(fs.lstatSync(p).isSymbolicLink() ? '--symlink' : '--ro-bind', fs.lstatSync(p).isSymbolicLink() ? fs.readlinkSync(p) : p, p)
  }
  binds.push('--tmpfs', '/etc', '--ro-bind', REPO_ROOT, REPO_ROOT)
  return binds
}

/** bwrap arguments that make the ingestor "image": host runtime read-only, the repo for Node + script. */
export function ingestorImageArgs(): {binds: string[]; command: string[]; cwd: string} {
  const binds = hostRuntimeBinds()
  // The Node running the tests may live outside the repo and /usr (a shared .node/ of another checkout).
  const node = fs.realpathSync(process.execPath)
  if (!node.startsWith(REPO_ROOT + path.sep) && !node.startsWith('/usr/')) binds.push('--ro-bind', node, node)
  return {binds, command: [node, '--import', 'tsx', INGESTOR_MAIN], cwd: REPO_ROOT}
}

/**
 * The mysql-client "image": Debian's MariaDB (server, `mysql` client) from the host, read-only, and an
 * entrypoint that initialises an empty datadir like the official image's. /run/mysqld points at the
 * chart's /var/run/mysqld emptyDir, so a bare `mysql -uroot` finds the client's default socket.
 */
export function mysqlImageArgs(): {binds: string[]; command: string[]; cwd: string} {
  // The entrypoint sits at the image's own path, not in the repo: the chart mounts an emptyDir on /tmp,
  // which hides a repo checked out under /tmp.
  return {binds: [...hostRuntimeBinds(), '--dir', '/run', '--symlink', '/var/run/mysqld', '/run/mysqld', '--ro-bind', MYSQL_ENTRYPOINT, '/docker-entrypoint.sh'], command: ['/bin/sh', '/docker-entrypoint.sh'], cwd: '/'}
}
