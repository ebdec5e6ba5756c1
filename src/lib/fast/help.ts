// Help without loading oclif's runtime. `--help`, `-h`, a bare topic (`tracebloc dataset`) and a
// bare `tracebloc` are answered from the command manifests (oclif.manifest.json and the bundled
// plugins' manifests) with oclif's own help formatters (CommandHelp, RootHelp, HelpFormatter),
// loaded from their files so the rest of @oclif/core (config loader, parser, ux, semver, …) is
// never imported. The steps below are those of oclif's Help.showHelp for the cases handled here;
// anything else (an unknown word, other flags, a theme, Windows, deprecation states, dynamic
// help) returns false and oclif answers. test/e2e/help-fast.test.ts compares every command and
// topic on both paths.
import {existsSync, readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {arch, homedir, platform} from 'node:os'
import path from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'
import {format} from 'node:util'

import {hooksAllowFastPath} from './hooks.js'


interface Manifest {
  commands: Record<string, any>
}

export interface PackageJson {
  name: string
  version: string
  description?: string
  oclif: any
}

interface Topic {
  name: string
  description?: string
  hidden?: boolean
}

/** The part of oclif's Config that its help formatters read. */
export interface HelpConfig {
  bin: string
  pjson: PackageJson
  topicSeparator: string
  platform: string
  shell: string
  theme: undefined
  userAgent: string
  commands: any[]
  topics: Topic[]
}

const HELP_FLAGS = (pjson: PackageJson): string[] => [...new Set([...(pjson.oclif.additionalHelpFlags ?? []), '--help'])]

/** Returns true when it printed the help `argv` asks for; false when oclif must answer. */
export async function runFastHelp(argv: string[], root: URL): Promise<boolean> {
  const pjson = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as PackageJson
  if (!fastHelpApplies(pjson)) return false
  const helpFlags = HELP_FLAGS(pjson)
  const words = argv.filter((a) => !helpFlags.includes(a))
  // Only command words plus at most one help flag; no other flag, no `--`, no argument values.
  // (oclif skips a `help` word when it looks for the subject: leave those to it.)
  if (words.some((w) => w.startsWith('-') || w.includes('=') || w.includes(':') || w === 'help')) return false
  if (argv.length - words.length > 1) return false
  const asksHelp = argv.length === 0 || words.length < argv.length

  const rootDir = fileURLToPath(root)
  const config = loadHelpConfig(rootDir, pjson)
  if (!config) return false
  const id = words.join(':')
  const command = id ? findCommand(config, id) : undefined
  const topic = id ? config.topics.find((t) => t.name === id) : undefined
  if (!asksHelp && (command || !topic)) return false // a command to run, or an unknown one: oclif
  if (id && !command && !topic) return false
  if (command && (command.hasDynamicHelp || command.state || command.deprecationOptions || command.deprecateAliases)) return false

  const oclif = loadFormatters()
  if (!command && !topic) config.userAgent = await userAgent(pjson, oclif.lib) // root help only
  const help = new (fastHelpClass(oclif.HelpFormatter))(config, pjson.oclif.helpOptions ?? {}, oclif)
  if (command) help.showCommandHelp(command)
  else if (topic) help.showTopicHelp(topic)
  else help.showRootHelp()
  return true
}

/** Conditions under which oclif's help would differ from what this module can reproduce. */
export function fastHelpApplies(pjson: PackageJson): boolean {
  if (platform() === 'win32') return false // example line continuations depend on the shell
  if (!hooksAllowFastPath(pjson)) return false // oclif would run them
  if (pjson.oclif.state || pjson.oclif.theme || pjson.oclif.flexibleTaxonomy) return false
  if (typeof pjson.oclif.commands !== 'string') return false // single-command or explicit layouts
  const scoped = (k: string) => [pjson.oclif.bin, ...(pjson.oclif.binAliases ?? [])].map((b: string) => `${b.toUpperCase()}_${k}`)
  if ([...scoped('CONFIG_DIR'), ...scoped('DEBUG'), 'DEBUG'].some((k) => process.env[k])) return false
  const configHome = process.env.XDG_CONFIG_HOME || path.join(homedir(), '.config')
  if (existsSync(path.join(configHome, pjson.oclif.dirname ?? pjson.oclif.bin, 'theme.json'))) return false
  return true
}

/** The plugins' package folders, as oclif finds them from the root (not require.resolve: a plugin's package.json is not always in its exports map). */
export function pluginDirs(rootDir: string, pjson: PackageJson): Map<string, string | undefined> {
  const requireHere = createRequire(path.join(rootDir, 'package.json'))
  const dirs = new Map<string, string | undefined>()
  for (const name of pjson.oclif.plugins ?? []) dirs.set(name, (requireHere.resolve.paths(name) ?? []).map((d) => path.join(d, name)).find((d) => existsSync(path.join(d, 'package.json'))))
  return dirs
}

/** Commands and topics as oclif's Config.load assembles them from the manifests. */
export function loadHelpConfig(rootDir: string, pjson: PackageJson): HelpConfig | undefined {
  const plugins: {pjson: PackageJson; manifest: Manifest}[] = []
  const own = readJson<Manifest & {version: string}>(path.join(rootDir, 'oclif.manifest.json'))
  // A stale manifest makes oclif read the command files instead: leave that to it.
  if (!own || own.version !== pjson.version) return undefined
  plugins.push({pjson, manifest: own})
  for (const dir of pluginDirs(rootDir, pjson).values()) {
    if (!dir) return undefined
    const manifest = readJson<Manifest & {version: string}>(path.join(dir, 'oclif.manifest.json'))
    const ppjson = readJson<PackageJson>(path.join(dir, 'package.json'))
    if (!manifest || !ppjson || manifest.version !== ppjson.version || !hooksAllowFastPath(ppjson)) return undefined
    plugins.push({pjson: ppjson, manifest})
  }

  const commands = new Map<string, any>()
  const topics = new Map<string, Topic>()
  for (const {manifest, pjson: p} of plugins) {
    // Within a plugin oclif orders commands by id (localeCompare). Ids of lower-case letters and `:` sort
    // the same by code point, without the ICU collator's first-use cost (~6 ms of a ~50 ms start).
    const all = Object.values(manifest.commands)
    const list = all.every((c) => /^[a-z:]+$/.test(String(c.id)))
      ? all.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      : all.sort((a, b) => String(a.id).localeCompare(String(b.id)))
    for (const command of list) {
      if (commands.has(command.id)) return undefined // priority rules between plugins: leave to oclif
      commands.set(command.id, command)
      // An alias listed in both aliases and hiddenAliases keeps its first (visible) entry, as in oclif.
      const aliases: [string, boolean][] = [...(command.aliases ?? []).map((a: string) => [a, false]), ...(command.hiddenAliases ?? []).map((a: string) => [a, true])]
      for (const [alias, hidden] of aliases) {
        const existing = commands.get(alias)
        if (existing && existing.pluginName === command.pluginName && existing.id === alias && existing.aliases === command.aliases) continue
        if (existing) return undefined
        commands.set(alias, {...command, hidden, id: alias})
      }
    }
    for (const [name, t] of Object.entries<any>(p.oclif.topics ?? {})) {
      const existing = topics.get(name)
      if (existing) {
        existing.description = t.description || existing.description
        existing.hidden = existing.hidden || t.hidden
      } else topics.set(name, {name, description: t.description, hidden: t.hidden})
    }
    for (const c of list.filter((c) => !c.hidden)) {
      const parts = String(c.id).split(':')
      while (parts.length > 0) {
        const name = parts.join(':')
        if (name && !topics.has(name)) topics.set(name, {description: c.summary || c.description, name})
        parts.pop()
      }
    }
  }
  return {
    bin: pjson.oclif.bin,
    pjson,
    topicSeparator: pjson.oclif.topicSeparator ?? ':',
    platform: platform(),
    shell: '',
    theme: undefined,
    userAgent: '',
    commands: [...commands.values()],
    topics: [...topics.values()],
  }
}

function findCommand(config: HelpConfig, id: string): any {
  return config.commands.find((c) => c.id === id)
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T
  } catch {
    return undefined
  }
}

/** oclif's user agent (root help's VERSION): its platform is `wsl` under Windows Subsystem for Linux. */
export async function userAgent(pjson: PackageJson, lib: string): Promise<string> {
  let os: string = platform()
  if (os === 'linux') {
    const isWsl = (await import(pathToFileURL(createRequire(path.join(lib, 'index.js')).resolve('is-wsl')).href)) as {default: boolean}
    if (isWsl.default) os = 'wsl'
  }
  return `${pjson.name}/${pjson.version} ${os}-${arch() === 'ia32' ? 'x86' : arch()} node-${process.version}`
}

interface Formatters {
  lib: string
  HelpFormatter: any
  CommandHelp: any
  RootHelp: any
  ansis: any
  util: {sortBy: <T>(a: T[], f: (x: T) => unknown) => T[]; uniqBy: <T>(a: T[], f: (x: T) => unknown) => T[]; compact: <T>(a: T[]) => T[]}
  strip: (s: string) => string
}

/**
 * oclif's help formatters: from the bundle the build makes of them (scripts/gen-fast-help.mjs) when
 * it matches the installed @oclif/core, else from their files. Never from the package's index,
 * which loads oclif's whole runtime.
 */
/**
 * @oclif/core's lib folder, found as Node's resolution would (the node_modules folders up from here) without
 * resolving a module of it: `version` asks the stored help (./help-cache.ts) and must not touch oclif.
 */
export function oclifLib(): string {
  const require = createRequire(import.meta.url)
  const dir = (require.resolve.paths('@oclif/core') ?? []).map((d) => path.join(d, '@oclif', 'core')).find((d) => existsSync(path.join(d, 'package.json')))
  return path.join(dir ?? path.dirname(require.resolve('@oclif/core/package.json')), 'lib')
}

function loadFormatters(): Formatters {
  const require = createRequire(import.meta.url)
  const lib = oclifLib()
  const oclifRoot = path.dirname(lib)
  const {version} = JSON.parse(readFileSync(path.join(oclifRoot, 'package.json'), 'utf8')) as {version: string}
  const bundle = fileURLToPath(new URL('oclif-help.cjs', import.meta.url))
  const m = existsSync(bundle) ? require(bundle) : undefined
  const fromFiles = () => ({
    HelpFormatter: require(path.join(lib, 'help/formatter.js')).HelpFormatter,
    CommandHelp: require(path.join(lib, 'help/command.js')).CommandHelp,
    RootHelp: require(path.join(lib, 'help/root.js')).default,
    util: require(path.join(lib, 'util/util.js')),
    ansis: require(require.resolve('ansis', {paths: [lib]})),
  })
  const parts = m?.oclifVersion === version ? m : fromFiles()
  return {...parts, lib, strip: (s: string) => (parts.ansis.default ?? parts.ansis).strip(s)}
}

/**
 * oclif renders every piece of help text as an EJS template, compiling a function per call. Text
 * without a tag renders to itself, and `<%= config.bin %>` to the bin name (no characters EJS would
 * escape): those two cases skip the compiler; anything else goes to EJS.
 */
function quickRender<T extends {render: (s: string) => string}>(formatter: T, bin: string): T {
  const ejs = formatter.render.bind(formatter)
  const plainBin = /^[\w.-]+$/.test(bin)
  formatter.render = (t: string) => {
    if (typeof t !== 'string') return ejs(t)
    if (!t.includes('<%')) return t
    const out = plainBin ? t.replace(/<%=\s*config\.bin\s*%>/g, bin) : t
    return out.includes('<%') ? ejs(t) : out
  }
  return formatter
}

/** The steps of oclif's Help class (help/index.js) for root, topic and command help. */
function fastHelpClass(HelpFormatter: any) {
  return class FastHelp extends HelpFormatter {
    declare config: HelpConfig
    declare opts: any
    declare render: (s: string) => string
    declare section: (header: string, body: string) => string
    declare renderList: (rows: unknown[][], opts: unknown) => string
    declare wrap: (s: string) => string
    readonly oclif: Formatters

    constructor(config: HelpConfig, opts: any, oclif: Formatters) {
      super(config, opts)
      this.oclif = oclif
      quickRender(this, config.bin)
    }

    private log(text = ''): void {
      console.log(format(text))
    }

    private get sortedCommands(): any[] {
      const {sortBy, uniqBy} = this.oclif.util
      const commands = this.config.commands.filter((c) => this.opts.all || !c.hidden)
      return uniqBy(sortBy(commands, (c: any) => c.id), (c: any) => c.id)
    }

    private get sortedTopics(): Topic[] {
      const {sortBy, uniqBy} = this.oclif.util
      const withChildren = this.config.topics.filter((topic) => this.config.topics.some((sub) => sub.name.includes(`${topic.name}:`)))
      return uniqBy(sortBy(withChildren.filter((t) => this.opts.all || !t.hidden), (t: Topic) => t.name), (t: Topic) => t.name)
    }

    private summary(c: any): string | undefined {
      if (this.opts.sections && !this.opts.sections.map((s: string) => s.toLowerCase()).includes('summary')) return undefined
      if (c.summary) return this.render(c.summary.split('\n', 1)[0])
      return c.description && this.render(c.description).split('\n', 1)[0]
    }

    private formatCommand(command: any): string {
      if (this.config.topicSeparator !== ':') {
        command.id = command.id.replaceAll(':', this.config.topicSeparator)
        command.aliases = command.aliases && command.aliases.map((a: string) => a.replaceAll(':', this.config.topicSeparator))
      }
      return quickRender(new this.oclif.CommandHelp(command, this.config, this.opts), this.config.bin).generate()
    }

    private formatCommands(commands: any[]): string {
      if (commands.length === 0) return ''
      const rows = commands
        .filter((c) => (this.opts.hideAliasesFromRoot ? !c.aliases?.includes(c.id) : true))
        .map((c) => {
          if (this.config.topicSeparator !== ':') c.id = c.id.replaceAll(':', this.config.topicSeparator)
          const summary = this.summary(c)
          return [c.id, summary && this.oclif.strip(summary)]
        })
      return this.section('COMMANDS', this.renderList(rows, {indentation: 2, spacer: '\n', stripAnsi: this.opts.stripAnsi}))
    }

    private formatTopics(topics: Topic[]): string {
      if (topics.length === 0) return ''
      const rows = topics.map((t) => {
        const name = this.config.topicSeparator === ':' ? t.name : t.name.replaceAll(':', this.config.topicSeparator)
        return [name, t.description && this.render(t.description.split('\n', 1)[0])]
      })
      return this.section('TOPICS', this.renderList(rows, {indentation: 2, spacer: '\n', stripAnsi: this.opts.stripAnsi}))
    }

    private formatTopic(topic: Topic): string {
      let description = this.render(topic.description || '')
      const summary = description.split('\n', 1)[0]
      description = description.split('\n').slice(1).join('\n')
      let topicID = `${topic.name}:COMMAND`
      if (this.config.topicSeparator !== ':') topicID = topicID.replaceAll(':', this.config.topicSeparator)
      let output = this.oclif.util
        .compact([
          summary,
          this.section(this.opts.usageHeader || 'USAGE', `$ ${this.config.bin} ${topicID}`),
          description && this.section('DESCRIPTION', this.wrap(description)),
        ])
        .join('\n\n')
      if (this.opts.stripAnsi) output = this.oclif.strip(output)
      return output + '\n'
    }

    showRootHelp(): void {
      const topics = this.sortedTopics.filter((t) => !t.name.includes(':'))
      const commands = this.sortedCommands.filter((c) => !c.id.includes(':'))
      this.log(quickRender(new this.oclif.RootHelp(this.config, this.opts), this.config.bin).root())
      this.log('')
      if (topics.length > 0) {
        this.log(this.formatTopics(topics))
        this.log('')
      }
      const named = commands.filter((c) => c.id)
      if (named.length > 0) {
        this.log(this.formatCommands(named))
        this.log('')
      }
    }

    showTopicHelp(topic: Topic): void {
      const depth = topic.name.split(':').length
      const subTopics = this.sortedTopics.filter((t) => t.name.startsWith(topic.name + ':') && t.name.split(':').length === depth + 1)
      const commands = this.sortedCommands.filter((c) => c.id.startsWith(topic.name + ':') && c.id.split(':').length === depth + 1)
      this.log(this.formatTopic({...topic}))
      if (subTopics.length > 0) {
        this.log(this.formatTopics(subTopics.map((t) => ({...t}))))
        this.log('')
      }
      if (commands.length > 0) {
        this.log(this.formatCommands(commands.map((c) => ({...c}))))
        this.log('')
      }
    }

    showCommandHelp(command: any): void {
      const name = command.id
      const depth = name.split(':').length
      const subTopics = this.sortedTopics.filter((t) => t.name.startsWith(name + ':') && t.name.split(':').length === depth + 1)
      const subCommands = this.sortedCommands.filter((c) => c.id.startsWith(name + ':') && c.id.split(':').length === depth + 1)
      const summary = this.summary(command)
      if (summary) this.log(summary + '\n')
      this.log(this.formatCommand({...command}))
      this.log('')
      if (subTopics.length > 0) {
        this.log(this.formatTopics(subTopics.map((t) => ({...t}))))
        this.log('')
      }
      if (subCommands.length > 0) {
        const aliases: string[] = []
        const unique = subCommands.filter((p) => {
          aliases.push(...(p.aliases ?? []))
          return !aliases.includes(p.id)
        })
        this.log(this.formatCommands(unique.map((c) => ({...c}))))
        this.log('')
      }
    }
  }
}
