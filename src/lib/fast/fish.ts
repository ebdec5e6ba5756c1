// `autocomplete fish` without loading oclif's runtime: the same script (fishScript), from the same
// command and topic lists, assembled from the manifests as for help (./help.ts). Declines, and oclif
// answers, under the same conditions as fast help. test/e2e/help-fast.test.ts compares both paths.
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import {fishScript} from '../command/fish-completion.js'
import {fastHelpApplies, loadHelpConfig, type PackageJson} from './help.js'

export function runFastFish(root: URL): boolean {
  const pjson = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as PackageJson
  if (!fastHelpApplies(pjson)) return false
  const config = loadHelpConfig(fileURLToPath(root), pjson)
  if (!config) return false
  const bin = config.bin
  process.stdout.write(fishScript(bin, config.commands, config.topics as never, pjson.oclif.binAliases ?? []))
  if (process.stdout.isTTY) process.stderr.write(`\n# To install: ${bin} autocomplete fish > ~/.config/fish/completions/${bin}.fish\n`)
  return true
}
