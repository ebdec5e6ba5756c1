// Where per-user files live, by platform convention:
//   config  Linux: $XDG_CONFIG_HOME/tracebloc (~/.config/tracebloc)  macOS: ~/Library/Application Support/tracebloc
//           Windows: %APPDATA%\tracebloc
//   cache   Linux: $XDG_CACHE_HOME/tracebloc (~/.cache/tracebloc)    macOS: ~/Library/Caches/tracebloc
//           Windows: %LOCALAPPDATA%\tracebloc
// TRACEBLOC_CONFIG_HOME / TRACEBLOC_CACHE_HOME override both (tests, portable set-ups).
import {homedir} from 'node:os'
import path from 'node:path'

const set = (v: string | undefined): v is string => v !== undefined && v !== ''

export function configDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (set(env.TRACEBLOC_CONFIG_HOME)) return env.TRACEBLOC_CONFIG_HOME
  if (platform === 'win32') return path.join(env.APPDATA || path.join(homedir(), 'AppData', 'Roaming'), 'tracebloc')
  if (platform === 'darwin') return path.join(homedir(), 'Library', 'Application Support', 'tracebloc')
  return path.join(set(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(homedir(), '.config'), 'tracebloc')
}

export function configFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(configDir(env), 'config.json')
}

export function cacheDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (set(env.TRACEBLOC_CACHE_HOME)) return env.TRACEBLOC_CACHE_HOME
  if (platform === 'win32') return path.join(env.LOCALAPPDATA || path.join(homedir(), 'AppData', 'Local'), 'tracebloc')
  if (platform === 'darwin') return path.join(homedir(), 'Library', 'Caches', 'tracebloc')
  return path.join(set(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(homedir(), '.cache'), 'tracebloc')
}

/** The Go CLI's own file (its login tokens live there too: only the active client's namespace is ever read). */
export function goCliConfigFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(set(env.TRACEBLOC_CONFIG_DIR) ? env.TRACEBLOC_CONFIG_DIR : path.join(homedir(), '.tracebloc'), 'config.json')
}
