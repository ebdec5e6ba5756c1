import {fileURLToPath} from 'node:url'

import type {Hook} from '@oclif/core'

import {quietReason} from '../lib/upgrade/quiet.js'

/**
 * After a command has done its work (oclif's `finally` hook): print the daily update notice from the
 * cache and, once a day, start the detached check that refreshes it (src/lib/upgrade/notice.ts).
 */
const hook: Hook<'finally'> = async function ({argv, error, id}) {
  if (error || id === 'upgrade' || quietReason(argv ?? process.argv.slice(2), process.env, Boolean(process.stderr.isTTY))) return
  // Loaded only when the notice may show: a quiet run (scripts, CI, pipes) pays for nothing more.
  const [{detectInstall}, {cacheFile, decide, noticeLine, readCache, writeCache}, {releasesUrl}] = await Promise.all([
    import('../lib/upgrade/channel.js'),
    import('../lib/upgrade/notice.js'),
    import('../lib/upgrade/releases.js'),
  ])
  const install = detectInstall(this.config.root)
  if (install.channel === 'checkout') return // a developer's build: git knows better
  const file = cacheFile()
  const cache = readCache(file)
  const now = Date.now()
  const {notice, check} = decide(cache, this.config.version, now)
  if (notice) {
    process.stderr.write(noticeLine(this.config.version, notice, install.channel, releasesUrl()) + '\n')
    cache.notified_at = now
  }
  if (check) cache.checked_at = now
  // Written before the child starts, so the child's update builds on it.
  if (notice || check) writeCache(file, cache)
  if (check) {
    const {spawn} = await import('node:child_process')
    const worker = fileURLToPath(new URL('../lib/upgrade/check-worker.js', import.meta.url))
    try {
      spawn(process.execPath, [worker, install.channel === 'npm' ? 'npm' : 'releases'], {detached: true, stdio: 'ignore', windowsHide: true}).unref()
    } catch {
      // no notice is worth a failed command
    }
  }
}

export default hook
