// The update check's background child (started detached by the update-notice hook, output
// discarded): asks the npm registry or the release index for the latest version and records it in
// the cache file. Any failure (offline, a proxy, a timeout) is silent; the next try is a day later.
import {cacheFile, readCache, writeCache} from './notice.js'
import {npmRegistry, npmVersions, parseSums, releaseDir, releasesUrl, sumsVersion} from './releases.js'
import {fetchText} from './releases.js'

const [source] = process.argv.slice(2)
const file = cacheFile()
const TIMEOUT_MS = 10_000

try {
  const latest =
    source === 'npm'
      ? (await npmVersions(npmRegistry(), TIMEOUT_MS)).latest
      : sumsVersion(parseSums(await fetchText(`${releaseDir(releasesUrl())}/SHA256SUMS`, TIMEOUT_MS)))
  if (latest) writeCache(file, {...readCache(file), latest, source: source === 'npm' ? 'npm' : 'releases'})
} catch {
  // offline or no answer: stay quiet
}
