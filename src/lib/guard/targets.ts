// The per-machine record of what each kubeconfig context pointed at when this machine last wrote
// through it: `targets.json` in the user's state directory ($XDG_STATE_HOME/tracebloc, else
// ~/.local/state/tracebloc; %LOCALAPPDATA%\tracebloc on Windows). It holds no credential: the
// kubeconfig file's path, the context name, the server URL, the kube-system UID and a timestamp.
import {mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

export interface TargetRecord {
  kubeconfig: string
  context: string
  server: string
  uid: string
  namespace: string
  last_write_at: string
}

export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME)) return path.join(env.XDG_STATE_HOME, 'tracebloc')
  if (process.platform === 'win32' && env.LOCALAPPDATA) return path.join(env.LOCALAPPDATA, 'tracebloc')
  return path.join(os.homedir(), '.local', 'state', 'tracebloc')
}

/** Which kubeconfig a context name belongs to: --kubeconfig, else $KUBECONFIG as given, else ~/.kube/config. */
export function kubeconfigSource(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return path.resolve(flag.replace(/^~(?=$|\/)/, os.homedir()))
  if (env.KUBECONFIG) return env.KUBECONFIG.split(path.delimiter).filter(Boolean).map((f) => path.resolve(f)).join(path.delimiter)
  return path.join(os.homedir(), '.kube', 'config')
}

export class TargetRecords {
  private constructor(
    private readonly file: string,
    private records: TargetRecord[],
  ) {}

  static load(dir = stateDir()): TargetRecords {
    const file = path.join(dir, 'targets.json')
    let records: TargetRecord[] = []
    try {
      const doc = JSON.parse(readFileSync(file, 'utf8')) as {targets?: TargetRecord[]}
      records = Array.isArray(doc.targets) ? doc.targets.filter((r) => r && typeof r.uid === 'string' && typeof r.context === 'string') : []
    } catch {
      // absent or unreadable: nothing remembered yet (the next write starts a new record)
    }
    return new TargetRecords(file, records)
  }

  find(kubeconfig: string, context: string): TargetRecord | undefined {
    return this.records.find((r) => r.kubeconfig === kubeconfig && r.context === context)
  }

  /** Whether any context on this machine has written to this cluster before. */
  seen(uid: string): boolean {
    return this.records.some((r) => r.uid === uid)
  }

  remember(r: TargetRecord): void {
    this.records = [...this.records.filter((x) => !(x.kubeconfig === r.kubeconfig && x.context === r.context)), r].slice(-200)
    mkdirSync(path.dirname(this.file), {recursive: true, mode: 0o700})
    // written whole and renamed: two CLIs writing at once leave one valid file
    const tmp = `${this.file}.${process.pid}.tmp`
    writeFileSync(tmp, JSON.stringify({targets: this.records}, null, 2) + '\n', {mode: 0o600})
    renameSync(tmp, this.file)
  }
}
