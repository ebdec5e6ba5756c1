// Build step: bundle oclif's help formatters (CommandHelp, RootHelp, HelpFormatter and the
// libraries they use: wrap-ansi, string-width, ejs, …) into one file, dist/lib/fast/oclif-help.cjs,
// for the fast help path (src/lib/fast/help.ts). Loading ~40 small CommonJS files costs more than
// the rendering; one bundled file starts several times faster. The code is oclif's own, from the
// installed @oclif/core, so the output is the same; the bundle records that version and the fast
// path loads the separate files instead when it differs (or when this step was skipped because
// esbuild, a development dependency, is missing).
import {createRequire} from 'node:module'
import {mkdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(path.join(root, 'package.json'))
let esbuild
try {
  esbuild = await import('esbuild')
} catch {
  console.error('gen-fast-help: esbuild not installed; help will load oclif\'s formatter files one by one')
  process.exit(0)
}
const oclifRoot = path.dirname(require.resolve('@oclif/core/package.json'))
const {version} = JSON.parse(readFileSync(path.join(oclifRoot, 'package.json'), 'utf8'))
const lib = path.join(oclifRoot, 'lib')
const entry = `
module.exports = {
  oclifVersion: ${JSON.stringify(version)},
  HelpFormatter: require('./help/formatter.js').HelpFormatter,
  CommandHelp: require('./help/command.js').CommandHelp,
  RootHelp: require('./help/root.js').default,
  util: require('./util/util.js'),
  ansis: require('ansis'),
}
`
/**
 * string-width (used by wrap-ansi for every word oclif wraps) strips ANSI codes and replaces a regex of
 * every emoji, built anew per call, before it counts: most of help's rendering time. A string of printable
 * ASCII (no escape, no emoji possible: every emoji form needs a character above U+007F) is exactly its
 * length wide, so those are answered first; anything else goes to string-width unchanged.
 */
const asciiWidth = {
  name: 'ascii-width',
  setup(build) {
    build.onLoad({filter: /[\\/]node_modules[\\/]string-width[\\/]index\.js$/}, async (args) => ({
      loader: 'js',
      contents: `${readFileSync(args.path, 'utf8')}
;{
  const full = module.exports
  const width = (s) => (typeof s === 'string' && /^[\\x20-\\x7e]*$/.test(s) ? s.length : full(s))
  module.exports = width
  module.exports.default = width
}
`,
    }))
  },
}

const outfile = path.join(root, 'dist/lib/fast/oclif-help.cjs')
mkdirSync(path.dirname(outfile), {recursive: true})
await esbuild.build({
  stdin: {contents: entry, resolveDir: lib, loader: 'js', sourcefile: 'oclif-help-entry.cjs'},
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node22',
  minify: process.env.GEN_FAST_HELP_MINIFY !== '0', // GEN_FAST_HELP_MINIFY=0: readable, for profiling
  legalComments: 'eof',
  outfile,
  logLevel: 'warning',
  plugins: [asciiWidth],
})
