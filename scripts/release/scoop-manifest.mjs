// Writes the scoop manifest (tracebloc.json) from the release's SHA256SUMS: the win32-x64 tarball (Node
// bundled) with its sha256, shims for `tracebloc` and `tb`, and checkver/autoupdate so a bucket can follow
// new releases (`checkver.ps1 -Update`). The tarball name carries the commit (…-v<ver>-<sha7>-win32-x64…),
// so checkver reads it from the latest release's SHA256SUMS and hands the commit to autoupdate as $matchSha.
//
//   node scripts/release/scoop-manifest.mjs --sums SHA256SUMS [--version 0.1.0] [--base-url URL] [--out tracebloc.json]
//
// --base-url defaults to the GitHub release download dir for v<version>; --version to package.json's.
// Without --out the manifest goes to stdout. Users install it with
//   scoop install https://github.com/tracebloc/cli/releases/latest/download/tracebloc.json
import {parseSums} from './homebrew-formula.mjs'
import {isMain, REPO_URL, runSumsCli} from './sums-cli.mjs'

export function renderScoopManifest({sumsText, version, baseUrl, pjson, nodeVersion}) {
  if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version)) throw new Error(`not a release version: ${version}`)
  const bin = pjson.oclif.bin
  const sums = parseSums(sumsText)
  const re = new RegExp(`^${bin}-v${version.replaceAll('.', '\\.')}-[0-9a-f]+-win32-x64\\.tar\\.gz$`)
  const names = [...sums.keys()].filter((n) => re.test(n))
  if (names.length === 0) throw new Error(`SHA256SUMS has no win32-x64 tarball for v${version}`)
  if (names.length > 1) throw new Error(`SHA256SUMS lists several win32-x64 tarballs for v${version}: ${names.join(', ')}`)
  const [name] = names
  const shim = `bin\\${bin}.cmd`
  return {
    version,
    description: pjson.description.split(':')[0],
    homepage: pjson.homepage,
    license: pjson.license,
    notes: [
      `${[bin, ...(pjson.oclif.binAliases ?? [])].join(' and ')} are on PATH (Node.js ${nodeVersion} bundled).`,
      `PowerShell completion: ${bin} autocomplete powershell`,
    ],
    architecture: {
      '64bit': {
        url: `${baseUrl.replace(/\/$/, '')}/${name}`,
        hash: sums.get(name),
      },
    },
    extract_dir: bin,
    // [target, shim name]: one shim per name, both running the same .cmd.
    bin: [bin, ...(pjson.oclif.binAliases ?? [])].map((name) => [shim, name]),
    checkver: {
      url: `${REPO_URL}/releases/latest/download/SHA256SUMS`,
      regex: `${bin}-v([\\d.]+)-(?<sha>[0-9a-f]+)-win32-x64\\.tar\\.gz`,
    },
    autoupdate: {
      architecture: {
        '64bit': {url: `${REPO_URL}/releases/download/v$version/${bin}-v$version-$matchSha-win32-x64.tar.gz`},
      },
      hash: {url: '$baseurl/SHA256SUMS'},
    },
  }
}

if (isMain(import.meta.url)) runSumsCli('scoop-manifest', (o) => JSON.stringify(renderScoopManifest(o), null, 4) + '\n')
