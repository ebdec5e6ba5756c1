import {Flags} from '@oclif/core'

import {BaseCommand} from '../lib/command/base.js'
import {CliError, ExitCode} from '../lib/output/errors.js'
import {CHANNEL_NAMES, detectInstall, upgradeCommand} from '../lib/upgrade/channel.js'
import {fetchText, npmRegistry, npmVersions, parseSums, releaseDir, releasesUrl, sumsVersion, tarballEntry} from '../lib/upgrade/releases.js'
import {rollback, upgradeTarball} from '../lib/upgrade/tarball.js'
import {type SignatureMethod, verifySums} from '../lib/upgrade/verify.js'
import {compareVersions, isVersion, normalizeVersion} from '../lib/upgrade/version.js'

export interface UpgradeResult {
  status: 'up_to_date' | 'update_available' | 'upgraded' | 'run_command' | 'rolled_back'
  current: string
  latest?: string
  target?: string
  channel: string
  install_root: string
  command?: string
  signature?: SignatureMethod
  previous_root?: string
}

const TIMEOUT_MS = 60_000

export default class Upgrade extends BaseCommand<typeof Upgrade> {
  static summary = 'Upgrade the CLI, or print the command your install method needs'
  static description =
    'Finds how this copy was installed. An install from the release tarball (install.sh) is upgraded here: downloaded, ' +
    'checked against the signed SHA256SUMS, tried, then swapped in; the old version stays for --rollback. For npm, ' +
    'Homebrew, scoop, the .deb, the .pkg and the Windows installer it prints the one command that upgrades it.'
  static examples = ['<%= config.bin %> upgrade --check', '<%= config.bin %> upgrade', '<%= config.bin %> upgrade --version 0.2.0', '<%= config.bin %> upgrade --rollback']
  static flags = {
    check: Flags.boolean({description: 'Only report whether a newer version exists (exit 0 either way)'}),
    version: Flags.string({description: 'Install this version (also older ones) instead of the latest'}),
    rollback: Flags.boolean({description: 'Go back to the version the last upgrade replaced (tarball installs)', exclusive: ['check', 'version']}),
    'skip-signature': Flags.boolean({description: 'Accept a release whose signature cannot be checked here (its sha256 is still checked)'}),
  }

  async run(): Promise<UpgradeResult> {
    const install = detectInstall(this.config.root)
    const base = {current: this.config.version, channel: install.channel, install_root: install.root}
    if (this.flags.rollback) {
      if (install.channel !== 'tarball') throw new CliError(`--rollback works on tarball installs; this is a ${CHANNEL_NAMES[install.channel]}`, {exitCode: ExitCode.BAD_INPUT, reason: 'bad_flag', hint: 'reinstall the version you want with your package manager'})
      rollback(install.root)
      this.note(`restored the previous version in ${install.root}`)
      return {...base, status: 'rolled_back'}
    }
    const wanted = this.flags.version === undefined ? undefined : normalizeVersion(this.flags.version)
    if (wanted !== undefined && !isVersion(wanted)) throw new CliError(`--version ${this.flags.version} is not a version (x.y.z)`, {exitCode: ExitCode.BAD_INPUT, reason: 'bad_flag'})

    const url = releasesUrl()
    // npm installs follow the registry; everything else follows the GitHub releases.
    let target: string
    let latest: string | undefined
    let sums: {text: string; dir: string} | undefined
    if (install.channel === 'npm') {
      const reg = npmRegistry()
      const v = await npmVersions(reg, TIMEOUT_MS)
      latest = v.latest
      if (wanted !== undefined && !v.versions.includes(wanted)) throw new CliError(`${wanted} is not published on ${reg}`, {exitCode: ExitCode.BAD_INPUT, reason: 'release_not_found', hint: `the latest is ${latest}`})
      target = wanted ?? latest
    } else {
      const dir = releaseDir(url, wanted)
      const text = await fetchText(`${dir}/SHA256SUMS`, TIMEOUT_MS)
      const found = sumsVersion(parseSums(text))
      if (!found) throw new CliError(`${dir}/SHA256SUMS names no tracebloc release`, {exitCode: ExitCode.SUBMIT, reason: 'bad_release', hint: 'check TRACEBLOC_RELEASES_URL'})
      if (wanted === undefined) latest = found
      target = wanted ?? found
      sums = {text, dir}
    }
    const newer = compareVersions(target, this.config.version) > 0
    const same = compareVersions(target, this.config.version) === 0
    const command = upgradeCommand(install.channel, wanted ?? (install.channel === 'npm' ? target : undefined), url)
    const where = `${CHANNEL_NAMES[install.channel]} at ${install.root}`

    if (same || (this.flags.check && !newer && wanted === undefined)) {
      this.out(`tracebloc ${this.config.version} is ${same ? (wanted ? 'the version asked for' : 'the latest') : `newer than the latest release ${target}`} (${where})`)
      return {...base, status: 'up_to_date', latest, target}
    }
    if (this.flags.check) {
      this.out(`tracebloc ${target} is available; you have ${this.config.version} (${where})`)
      this.out(`  → ${command ?? `tracebloc upgrade${wanted ? ` --version ${wanted}` : ''}`}`)
      return {...base, status: 'update_available', latest, target, ...(command ? {command} : {})}
    }
    if (!newer && wanted === undefined) {
      this.out(`tracebloc ${this.config.version} is newer than the latest release ${target} (${where})`)
      return {...base, status: 'up_to_date', latest, target}
    }
    if (install.channel !== 'tarball' || process.platform === 'win32') {
      // Other channels belong to their package manager (a running .exe cannot replace itself either).
      this.out(`tracebloc ${target} is available; you have ${this.config.version}. This is a ${where}; upgrade it with:`)
      this.out(`  ${command ?? `download the release tarball from ${releaseDir(url, target)}`}`)
      return {...base, status: 'run_command', latest, target, ...(command ? {command} : {})}
    }

    const sumsBuf = Buffer.from(sums!.text)
    const signature = await verifySums(sumsBuf, sums!.dir, {skipSignature: this.flags['skip-signature'], timeoutMs: TIMEOUT_MS})
    if (signature === 'skipped') this.warnLine('signature NOT verified (--skip-signature); relying on the sha256 checksums alone')
    else this.note(`signature ok (${signature})`)
    const entry = tarballEntry(parseSums(sums!.text), target)
    if (!entry) throw new CliError(`release ${target} has no ${process.platform}-${process.arch} tarball`, {exitCode: ExitCode.SUBMIT, reason: 'release_not_found', hint: `see ${releaseDir(url, target)}`})
    const {previous} = await upgradeTarball({
      root: install.root,
      entry,
      dir: sums!.dir,
      version: target,
      timeoutMs: TIMEOUT_MS,
      onCleanup: (fn) => this.interruption.onCleanup(fn),
      signal: this.interruption.signal,
      note: (l) => this.note(l),
    })
    this.out(`upgraded tracebloc ${this.config.version} → ${target} in ${install.root} (previous version kept: \`tracebloc upgrade --rollback\`)`)
    return {...base, status: 'upgraded', latest, target, signature, previous_root: previous}
  }
}
