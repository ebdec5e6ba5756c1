// How this copy was installed, read from where it lives. Each channel upgrades differently: the
// tarball layout (install.sh, or an unpacked release tarball) is replaced by `tracebloc upgrade`
// itself; every other channel has its own package manager, and we print the one command it needs.
import {existsSync, realpathSync} from 'node:fs'
import path from 'node:path'

export type Channel = 'npm' | 'homebrew' | 'scoop' | 'deb' | 'windows-installer' | 'macos-pkg' | 'tarball' | 'checkout' | 'unknown'

export const CHANNEL_NAMES: Record<Channel, string> = {
  npm: 'npm global install',
  homebrew: 'Homebrew',
  scoop: 'scoop',
  deb: '.deb package',
  'windows-installer': 'Windows installer',
  'macos-pkg': 'macOS .pkg',
  tarball: 'release tarball (install script)',
  checkout: 'source checkout',
  unknown: 'unknown install',
}

export interface Install {
  channel: Channel
  /** The CLI's package root (holds package.json, bin/, dist/). */
  root: string
}

export function detectInstall(rootIn: string, platform: NodeJS.Platform = process.platform): Install {
  let root = path.resolve(rootIn)
  try {
    root = realpathSync(root)
  } catch {
    // a root that cannot be resolved is judged by its given path
  }
  const has = (rel: string) => existsSync(path.join(root, rel))
  const slashed = root.replaceAll('\\', '/')
  const channel: Channel = (() => {
    if (has('.git') || (has('src/commands') && has('tsconfig.json'))) return 'checkout'
    if (/\/Cellar\/tracebloc\//.test(slashed)) return 'homebrew'
    if (/\/scoop\/apps\/tracebloc\//i.test(slashed)) return 'scoop'
    if (/\/node_modules\/@tracebloc\/cli$/.test(slashed)) return 'npm'
    if (platform === 'linux' && slashed === '/usr/lib/tracebloc' && existsSync('/var/lib/dpkg/info/tracebloc.list')) return 'deb'
    if (platform === 'win32' && has('Uninstall.exe')) return 'windows-installer'
    if (platform === 'darwin' && existsSync('/var/db/receipts/com.tracebloc.cli.bom') && slashed === '/usr/local/lib/tracebloc') return 'macos-pkg'
    if (has('bin/node') || has('bin/node.exe')) return 'tarball'
    return 'unknown'
  })()
  return {channel, root}
}

const DEB_ARCH: Record<string, string> = {x64: 'amd64', arm64: 'arm64'}

/** The one command that upgrades `channel` to `version` (latest when undefined); undefined for the tarball layout. */
export function upgradeCommand(channel: Channel, version: string | undefined, releasesUrl: string, arch = process.arch): string | undefined {
  const dir = version ? `${releasesUrl}/download/v${version}` : `${releasesUrl}/latest/download`
  switch (channel) {
    case 'npm':
      return `npm install -g @tracebloc/cli@${version ?? 'latest'}`
    case 'homebrew':
      return 'brew update && brew upgrade tracebloc'
    case 'scoop':
      return 'scoop update tracebloc'
    case 'deb': {
      const a = DEB_ARCH[arch] ?? arch
      return `curl -fsSLO ${dir}/tracebloc_${a}.deb && sudo apt install ./tracebloc_${a}.deb`
    }
    case 'windows-installer':
      return `Invoke-WebRequest ${dir}/tracebloc-x64.exe -OutFile tracebloc-x64.exe; .\\tracebloc-x64.exe`
    case 'macos-pkg':
      return `curl -fsSLO ${dir}/tracebloc-${arch}.pkg && sudo installer -pkg tracebloc-${arch}.pkg -target /`
    case 'checkout':
      return 'git pull && npm ci && npm run build'
    case 'tarball':
      return undefined
    case 'unknown':
      return `curl -fsSL ${releasesUrl}/latest/download/install.sh | sh${version ? ` -s -- --version ${version}` : ''}`
  }
}
