// The system packages the sandbox cluster runs on (Linux): bubblewrap and a static busybox for its pods,
// MariaDB for the client's mysql-client database. `npm run demo` and `npm test` install them when they
// are missing and this is a root shell with apt-get (as CI does); otherwise they name the command.
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'

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

/** Install what is missing when we can (root + apt-get); returns the packages still missing. */
export function ensureSandboxPackages(log = (s) => console.error(s)) {
  const need = missingSandboxPackages()
  if (need.length === 0) return []
  if (process.getuid?.() !== 0 || !has('apt-get')) return need
  log(`setup: installing ${need.join(' ')} for the sandbox cluster (apt-get)`)
  const r = spawnSync('sh', ['-c', `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${need.join(' ')}`], {stdio: ['ignore', 'ignore', 'inherit']})
  return r.status === 0 ? missingSandboxPackages() : need
}
