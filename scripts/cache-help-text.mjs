// Build step (after the manifest): render the help of the root, every topic and every command as it
// prints off a terminal without colour, into dist/lib/fast/help-text.json, for src/lib/fast/help-cache.ts.
// Rendered in a child process whose stdout is a pipe and whose environment asks for no colour, so the
// text is what oclif prints there (80 columns, plain); stamped with what it depends on.
import {spawnSync} from 'node:child_process'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
if (process.argv[2] !== '--child') {
  const env = {...process.env, NO_COLOR: '1'}
  for (const k of ['OCLIF_COLUMNS', 'FORCE_COLOR', 'COLORTERM', 'CI', 'TF_BUILD', 'PM2_HOME', 'NEXT_RUNTIME']) delete env[k]
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child'], {cwd: root, env, stdio: ['ignore', 'pipe', 'inherit']})
  if (r.status !== 0) process.exit(r.status ?? 1)
  process.exit(0)
}

const {writeFileSync, readFileSync} = await import('node:fs')
const {fastHelpApplies, loadHelpConfig, oclifLib, runFastHelp, userAgent} = await import('../dist/lib/fast/help.js')
const {helpKey, helpStamp, USER_AGENT_MARK} = await import('../dist/lib/fast/help-cache.js')
const out = path.join(root, 'dist/lib/fast/help-text.json')
const pjson = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'))
const config = fastHelpApplies(pjson) ? loadHelpConfig(root, pjson) : undefined
const stamp = config && helpStamp(root, pjson)
if (!stamp) {
  console.error('cache-help-text: the fast help path does not apply on this machine; help is rendered at run time')
  process.exit(0)
}
const ua = await userAgent(pjson, oclifLib())
const forms = [[], ['--help']]
for (const t of config.topics) forms.push(t.name.split(':'), [...t.name.split(':'), '--help'])
for (const c of config.commands) forms.push([...c.id.split(':'), '--help'])
const texts = {}
const log = console.log
for (const argv of forms) {
  const key = helpKey(argv, ['--help'])
  if (key === undefined || key in texts) continue
  let text = ''
  console.log = (...a) => (text += a.join(' ') + '\n')
  let answered
  try {
    answered = await runFastHelp(argv, new URL('../', import.meta.url))
  } finally {
    console.log = log
  }
  if (answered) texts[key] = text.replaceAll(ua, USER_AGENT_MARK)
}
writeFileSync(out, JSON.stringify({stamp, texts}))
