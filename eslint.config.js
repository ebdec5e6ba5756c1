import path from 'node:path'

import js from '@eslint/js'
import tseslint from 'typescript-eslint'

// Which folder of src/lib may import which (CONTRIBUTING.md, "Layout"). A folder imports only folders on a
// lower line, never one on its own line or above: no upward arrow, so no cycle. src/commands and src/hooks
// sit on top and may import any of src/lib; nothing in src/lib imports them. Static imports, re-exports,
// `import()` and `import('…')` types are all checked.
export const LAYERS = [
  ['output'],
  ['process', 'config', 'schema'],
  ['cluster', 'upgrade', 'version-info'],
  ['pvc', 'guard', 'watch', 'submit'],
  ['local', 'staging'],
  ['remote'],
  ['catalog', 'runs'],
  ['probe'],
  ['pipeline'],
  ['command'],
  ['fast'],
]

const LIB = path.join(import.meta.dirname, 'src', 'lib')
const layerOf = new Map(LAYERS.flatMap((names, i) => names.map((n) => [n, i])))

/** `src/lib/<folder>/…` (or `src/lib/<name>.ts`) → folder name; anything else → undefined. */
function libFolder(file) {
  const rel = path.relative(LIB, file)
  if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined
  return rel.split(path.sep)[0].replace(/\.[cm]?[jt]s$/, '')
}

const importBoundaries = {
  meta: {type: 'problem', schema: [], messages: {
    up: '{{from}} may not import {{to}}: {{to}} is not on a lower line of the import layers (eslint.config.js LAYERS, CONTRIBUTING.md)',
    unknown: 'src/lib/{{folder}} is not in the import layers: add it to LAYERS in eslint.config.js and to the map in CONTRIBUTING.md',
    commands: 'src/lib may not import src/commands or src/hooks: commands call the library, not the other way round',
  }},
  create(context) {
    const file = context.filename
    const from = libFolder(file)
    if (from === undefined) return {}
    const check = (node, source) => {
      if (typeof source !== 'string' || !source.startsWith('.')) return
      const target = path.resolve(path.dirname(file), source)
      const to = libFolder(target)
      if (to === undefined) {
        if (target.startsWith(path.join(import.meta.dirname, 'src') + path.sep)) context.report({node, messageId: 'commands'})
        return
      }
      if (to === from) return
      for (const f of [from, to]) if (!layerOf.has(f)) return context.report({node, messageId: 'unknown', data: {folder: f}})
      if (layerOf.get(to) >= layerOf.get(from)) context.report({node, messageId: 'up', data: {from: `lib/${from}`, to: `lib/${to}`}})
    }
    const literal = (n) => (n?.type === 'Literal' ? n.value : n?.type === 'TemplateLiteral' && n.expressions.length === 0 ? n.quasis[0].value.cooked : undefined)
    return {
      ImportDeclaration: (n) => check(n, n.source.value),
      ExportNamedDeclaration: (n) => n.source && check(n, n.source.value),
      ExportAllDeclaration: (n) => check(n, n.source.value),
      ImportExpression: (n) => check(n, literal(n.source)),
      TSImportType: (n) => check(n, literal(n.argument?.literal ?? n.argument)),
    }
  },
}

export default tseslint.config(
  {ignores: ['dist/**', 'node_modules/**', '.node/**', 'tmp/**', 'src/lib/schema/generated/**']},
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {globals: {process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', fetch: 'readonly', TextDecoder: 'readonly', TextEncoder: 'readonly', setImmediate: 'readonly', queueMicrotask: 'readonly', structuredClone: 'readonly'}},
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_'}],
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['src/lib/**/*.ts'],
    plugins: {tracebloc: {rules: {'import-boundaries': importBoundaries}}},
    rules: {'tracebloc/import-boundaries': 'error'},
  },
  {
    // scripts/bootstrap.cjs must run on old Node before anything is installed: plain CommonJS.
    files: ['**/*.cjs'],
    languageOptions: {sourceType: 'commonjs', globals: {require: 'readonly', module: 'writable', __dirname: 'readonly'}},
    rules: {'@typescript-eslint/no-require-imports': 'off'},
  },
)
