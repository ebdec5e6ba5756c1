// MySQL over pods/exec, as the Go CLI reaches it (docs/protocol.md#mysql-access), but safer: the pod is
// the one labelled app=mysql-client (container mysql-client), the password goes from the container's own
// MYSQL_ROOT_PASSWORD into MYSQL_PWD inside the pod (never an argv, never through this process), the SQL
// goes in on stdin, and `mysql -N -B` output is parsed strictly, section by section, between marker rows
// carrying a random nonce that no value can forge.
import {randomBytes} from 'node:crypto'
import {Readable} from 'node:stream'

import {apiFailure, ClusterTarget, withApiRetry} from '../cluster/kube.js'
import {CliError, ExitCode} from '../output/errors.js'
import {redact} from '../output/redact.js'
import {sanitize} from './names.js'

export const MYSQL_SELECTOR = 'app=mysql-client'
export const MYSQL_CONTAINER = 'mysql-client'
/** Exit status of the remote script when the container has no MYSQL_ROOT_PASSWORD. */
const NO_PASSWORD = 97

/** The remote script: socket if the server has one where images put it, else TCP to 127.0.0.1 (root@'%'). */
export function remoteScript(stdinBytes: number): string {
  return [
    'if [ -z "${MYSQL_ROOT_PASSWORD:-}" ]; then echo "MYSQL_ROOT_PASSWORD is not set in this container" >&2; exit ' + NO_PASSWORD + '; fi',
    'MYSQL_PWD="$MYSQL_ROOT_PASSWORD"; export MYSQL_PWD',
    'conn="--protocol=TCP -h 127.0.0.1"',
    'for s in /var/run/mysqld/mysqld.sock /run/mysqld/mysqld.sock /var/lib/mysql/mysql.sock; do if [ -S "$s" ]; then conn="--protocol=SOCKET -S $s"; break; fi; done',
    // length-framed stdin: v4 exec servers cannot signal EOF
    `head -c ${stdinBytes} | mysql $conn -uroot -N -B --default-character-set=utf8mb4 --connect-timeout=10`,
  ].join('\n')
}

/** The Running mysql-client pod (Ready preferred), or exit 7 naming what is wrong. */
export async function findMysqlPod(t: ClusterTarget, namespace: string, signal?: AbortSignal): Promise<string> {
  let pods
  try {
    pods = await withApiRetry(() => t.core.listNamespacedPod({namespace, labelSelector: MYSQL_SELECTOR}), {signal})
  } catch (error) {
    const f = apiFailure(error)
    throw new CliError(`listing the mysql-client pods in namespace "${namespace}": ${f.message}`, {exitCode: ExitCode.STAGING, reason: f.code === 403 ? 'rbac_denied' : 'mysql_unavailable'})
  }
  const running = pods.items.filter(
    (p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp && (p.spec?.containers ?? []).some((c) => c.name === MYSQL_CONTAINER),
  )
  const ready = running.find((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
  const pick = ready ?? running[0]
  if (pick) return pick.metadata!.name!
  const phases = pods.items.map((p) => `${p.metadata?.name} ${p.metadata?.deletionTimestamp ? 'Terminating' : p.status?.phase}`)
  throw new CliError(`the client's MySQL is not running: no Running pod labelled ${MYSQL_SELECTOR} in namespace "${namespace}"${phases.length ? ` (${phases.join(', ')})` : ''}`, {
    exitCode: ExitCode.STAGING,
    hint: `check it with: kubectl get pods -n ${namespace} -l ${MYSQL_SELECTOR} (and kubectl describe for the reason); nothing was changed`,
    reason: 'mysql_unavailable',
  })
}

export interface MysqlTarget {
  t: ClusterTarget
  namespace: string
  pod: string
  signal?: AbortSignal
}

/** One SELECT (or statement list) whose rows form one section; `columns` is checked on every row. */
export interface Section {
  sql: string
  columns: number
}

/** Run statements in one exec; returns each section's rows. Statements without a section go in `prelude`. */
export async function query(m: MysqlTarget, sections: Section[], prelude = ''): Promise<string[][][]> {
  const nonce = randomBytes(12).toString('hex')
  const marker = (i: number) => `tracebloc-${nonce}-${i}`
  let sql = prelude
  sections.forEach((s, i) => {
    sql += `SELECT '${marker(i)}';\n${s.sql.trim().replace(/;?$/, ';')}\n`
  })
  const out = await run(m, sql)
  return parseSections(out, sections, marker)
}

/** Statements only (DROP, DELETE …): success or a CliError. */
export async function execute(m: MysqlTarget, sql: string): Promise<void> {
  await run(m, sql)
}

async function run(m: MysqlTarget, sql: string): Promise<string> {
  const {execInPod, ExecRefused} = await import('../cluster/exec.js')
  const body = Buffer.from(sql, 'utf8')
  let r
  try {
    r = await execInPod(m.t, {namespace: m.namespace, pod: m.pod, container: MYSQL_CONTAINER, command: ['sh', '-c', remoteScript(body.length)], stdin: Readable.from([body]), signal: m.signal, captureLimit: 64 << 20})
  } catch (error) {
    if (error instanceof CliError) throw error
    const refused = error instanceof ExecRefused
    throw new CliError(`running mysql in pod ${m.namespace}/${m.pod}: ${(error as Error).message}`, {
      exitCode: ExitCode.STAGING,
      hint: refused && error.status === 403 ? `your user needs \`create\` on pods/exec in namespace ${m.namespace}` : 'retry; if it persists check the mysql-client pod: kubectl describe pod -n ' + m.namespace + ' ' + m.pod,
      reason: refused && error.status === 403 ? 'rbac_denied' : 'mysql_exec_failed',
      cause: error,
    })
  }
  if (r.exitCode === 0) return r.stdout
  throw mysqlError(m, r.exitCode, r.stderr)
}

function mysqlError(m: MysqlTarget, code: number, stderr: string): CliError {
  const text = sanitize(redact(stderr.trim()))
  const errLine = text.split('\n').find((l) => /^ERROR \d+/.test(l)) ?? text.split('\n').at(-1) ?? ''
  const where = `${m.namespace}/${m.pod}`
  if (code === NO_PASSWORD) {
    return new CliError(`the mysql-client container in ${where} has no MYSQL_ROOT_PASSWORD in its environment`, {
      exitCode: ExitCode.STAGING,
      hint: 'the client chart provides it (baked into the image, or from <release>-secrets on newer charts); check the install',
      reason: 'mysql_no_password',
    })
  }
  if (/^ERROR 1045\b/.test(errLine)) {
    return new CliError(`MySQL refused the root password of the mysql-client pod ${where} (${errLine})`, {
      exitCode: ExitCode.STAGING,
      hint: "the pod's MYSQL_ROOT_PASSWORD no longer matches the database's root password — usual after turning on root-password rotation for an existing install until ALTER USER is run for root@'%' and root@'localhost'; ask your cluster admin to finish the rotation",
      reason: 'mysql_access_denied',
    })
  }
  if (/^ERROR (2002|2003|2013)\b/.test(errLine)) {
    return new CliError(`cannot connect to MySQL in pod ${where} (${errLine})`, {
      exitCode: ExitCode.STAGING,
      hint: `the server may be starting or crashing: kubectl logs -n ${m.namespace} ${m.pod}`,
      reason: 'mysql_unreachable',
    })
  }
  if (code === 127 || /not found/.test(errLine)) {
    return new CliError(`the mysql client is missing from pod ${where} (${errLine || `exit ${code}`})`, {exitCode: ExitCode.STAGING, reason: 'mysql_client_missing'})
  }
  return new CliError(`MySQL query failed in pod ${where}: ${errLine || `exit ${code}`}`, {exitCode: ExitCode.STAGING, reason: 'mysql_query_failed'})
}

/** `mysql -B` escapes: \\ \t \n \0 inside values. */
export function unescapeField(f: string): string {
  return f.replace(/\\(.)/g, (_, c: string) => ({n: '\n', t: '\t', '0': '\0', '\\': '\\', b: '\b', r: '\r', Z: '\x1a'})[c] ?? c)
}

export function parseSections(out: string, sections: Section[], marker: (i: number) => string): string[][][] {
  const lines = out.split('\n')
  if (lines.at(-1) === '') lines.pop()
  const result: string[][][] = sections.map(() => [])
  let cur = -1
  for (const line of lines) {
    if (cur + 1 < sections.length && line === marker(cur + 1)) {
      cur++
      continue
    }
    if (cur < 0) throw badOutput('output before the first section', line)
    const fields = line.split('\t').map(unescapeField)
    if (fields.length !== sections[cur].columns) throw badOutput(`expected ${sections[cur].columns} columns, got ${fields.length}`, line)
    result[cur].push(fields)
  }
  if (cur !== sections.length - 1) throw badOutput(`only ${cur + 1} of ${sections.length} result sets came back`, '')
  return result
}

function badOutput(why: string, line: string): CliError {
  return new CliError(`unexpected output from mysql (${why}${line ? `: ${sanitize(line.slice(0, 80))}` : ''})`, {exitCode: ExitCode.STAGING, reason: 'mysql_bad_output'})
}
