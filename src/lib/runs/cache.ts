// The user's recent runs, so `dataset logs` / `dataset cancel` without an argument mean "my last run"
// (like `sf project deploy report`). One small JSON file under the CLI's cache dir; it never holds
// secrets (key, table, namespace, context, cluster UID, job name, times), is bounded, and a lost or
// corrupt file only costs the shortcut. Runs are keyed by the cluster's identity (the kube-system UID),
// not the context name: two clusters both reached through a context called "sandbox" keep apart.
import {chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import path from 'node:path'

export interface RecentRun {
  key: string
  table: string
  namespace: string
  context: string
  /** The cluster's identity (kube-system UID, or its server+CA stand-in): what the run belongs to. */
  cluster?: string
  job_name?: string
  category?: string
  intent?: string
  /** A remote dataset's URL (no query string), when the push read from a store. */
  dataset_source?: string
  submitted_at: string
  /** Set by `dataset cancel`: the run keeps showing as cancelled after its Job is gone. */
  cancelled_at?: string
}

export const MAX_RECENT_RUNS = 50
const FILE = 'recent-runs.json'

export class RecentRuns {
  private constructor(
    readonly file: string,
    /** Every run in the file, newest first (other clusters' too: written back untouched). */
    private runs: RecentRun[],
    /** The cluster this view shows (undefined: all of them). */
    private readonly cluster?: string,
  ) {}

  /**
   * The runs of one cluster (`cluster`: its identity); runs recorded without one, or for another
   * cluster, stay out of sight. Without `cluster` (no way to tell) every run is visible.
   */
  static load(dir: string, cluster?: string): RecentRuns {
    const file = path.join(dir, FILE)
    let runs: RecentRun[] = []
    try {
      const doc = JSON.parse(readFileSync(file, 'utf8')) as {runs?: unknown}
      if (Array.isArray(doc.runs)) runs = doc.runs.filter(isRecentRun)
    } catch {
      // missing or corrupt: start empty
    }
    return new RecentRuns(file, runs, cluster)
  }

  private visible(): RecentRun[] {
    return this.cluster === undefined ? this.runs : this.runs.filter((r) => r.cluster === this.cluster)
  }

  /** Newest first. */
  all(): RecentRun[] {
    return [...this.visible()]
  }

  /** The newest run in this context (and namespace, when given). */
  last(context: string, namespace?: string): RecentRun | undefined {
    return this.visible().find((r) => r.context === context && (!namespace || r.namespace === namespace))
  }

  find(context: string, pred: (r: RecentRun) => boolean): RecentRun | undefined {
    return this.visible().find((r) => r.context === context && pred(r))
  }

  /** Insert or update (by cluster + context + namespace + key) and move it to the front. */
  record(run: RecentRun): void {
    const r = {...run, cluster: run.cluster ?? this.cluster}
    const prev = this.runs.find((x) => same(x, r))
    this.runs = [{...prev, ...r}, ...this.runs.filter((x) => !same(x, r))].slice(0, MAX_RECENT_RUNS)
  }

  markCancelled(context: string, namespace: string, key: string, at: string, fill: Omit<RecentRun, 'key' | 'namespace' | 'context' | 'submitted_at'> = {table: ''}): void {
    const prev = this.visible().find((r) => r.context === context && r.namespace === namespace && r.key === key)
    if (prev) prev.cancelled_at = at
    else this.runs = [{...fill, key, namespace, context, cluster: this.cluster, submitted_at: at, cancelled_at: at}, ...this.runs].slice(0, MAX_RECENT_RUNS)
  }

  /** Best effort: a read-only home or full disk must not fail the command. */
  save(): boolean {
    try {
      mkdirSync(path.dirname(this.file), {recursive: true})
      const tmp = `${this.file}.${process.pid}.tmp`
      writeFileSync(tmp, JSON.stringify({version: 1, runs: this.runs}, null, 2) + '\n', {mode: 0o600})
      renameSync(tmp, this.file)
      chmodSync(this.file, 0o600)
      return true
    } catch {
      return false
    }
  }
}

const same = (a: RecentRun, b: RecentRun) => a.cluster === b.cluster && a.context === b.context && a.namespace === b.namespace && a.key === b.key

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/

/**
 * The file is read back as untrusted input: an entry whose namespace, key or Job name could not have
 * come from the cluster is dropped. The table is checked where it is used (runs.ts trustedTable), so a
 * bad one is reported rather than silently forgotten.
 */
function isRecentRun(x: unknown): x is RecentRun {
  const r = x as RecentRun
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.key === 'string' &&
    r.key.length <= 63 &&
    LABEL_VALUE.test(r.key) &&
    typeof r.table === 'string' &&
    typeof r.namespace === 'string' &&
    r.namespace.length <= 63 &&
    DNS_LABEL.test(r.namespace) &&
    typeof r.context === 'string' &&
    typeof r.submitted_at === 'string' &&
    (r.cluster === undefined || (typeof r.cluster === 'string' && r.cluster.length <= 128)) &&
    (r.job_name === undefined || (typeof r.job_name === 'string' && r.job_name.length <= 253 && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(r.job_name)))
  )
}
