// The client chart's MySQL workload (docs/protocol.md#mysql-access) backed by a real MariaDB server: the
// `mysql-client` Deployment (pod label app=mysql-client, container mysql-client, MYSQL_ROOT_PASSWORD in
// its env from <release>-secrets) whose container process is mariadbd over a datadir on PVC mysql-pvc.
// Pods have no network to each other in the sandbox, so clients reach the server through its unix socket
// in the pod's /var/run/mysqld (the kubelet binds it into ingestor pods; the host uses it for tests).
import {execFileSync, spawn} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import * as fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type {KObject} from '../types.js'

export const MYSQL_IMAGE = 'docker.io/tracebloc/mysql-client:prod'
export const MYSQL_SERVICE = 'mysql-client'
export const MYSQL_PVC = 'mysql-pvc'

/** A fresh root password per sandbox: alphanumeric, as the chart's generator makes them. */
export function newRootPassword(): string {
  return randomBytes(24).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, 24)
}

/**
 * An initialised MariaDB datadir for this host's server version, made once per machine with
 * mariadb-install-db and copied into each sandbox's mysql-pvc (a copy takes milliseconds, an install
 * seconds). Safe against concurrent sandboxes: built in a temp dir and renamed into place.
 */
export function mysqlTemplate(): string {
  const version = execFileSync('mariadbd', ['--version'], {encoding: 'utf8'}).trim()
  const dir = path.join(os.tmpdir(), `tracebloc-sandbox-mariadb-${createHash('sha256').update(version).digest('hex').slice(0, 12)}`)
  if (fs.existsSync(path.join(dir, '.complete'))) return dir
  const tmp = fs.mkdtempSync(`${dir}.tmp-`)
  try {
    execFileSync('mariadb-install-db', [
      '--no-defaults', `--datadir=${tmp}`, ...(process.getuid?.() === 0 ? ['--user=root'] : []), '--auth-root-authentication-method=normal', '--skip-test-db', '--skip-name-resolve',
      '--innodb-log-file-size=4M', '--innodb-flush-method=nosync', '--innodb-doublewrite=0', '--innodb-buffer-pool-size=16M',
      '--lower-case-table-names=0', '--character-set-server=utf8mb4', '--collation-server=utf8mb4_unicode_ci',
    ], {stdio: ['ignore', 'pipe', 'pipe']})
    fs.writeFileSync(path.join(tmp, '.complete'), version + '\n')
    try {
      fs.renameSync(tmp, dir)
    } catch {
      // another sandbox won the race: use its copy
    }
  } finally {
    fs.rmSync(tmp, {recursive: true, force: true})
  }
  return dir
}

/** Seed an empty mysql-pvc with the initialised datadir; the pod's entrypoint then only sets the password. */
export function seedDatadir(pvcDir: string): void {
  if (fs.existsSync(path.join(pvcDir, 'mysql'))) return
  fs.cpSync(mysqlTemplate(), pvcDir, {recursive: true, filter: (src) => path.basename(src) !== '.complete'})
}

export function mysqlDeployment(ns: string, labels: Record<string, string>, secretName: string, replicas: number): KObject {
  const emptyDir = (name: string) => ({name, emptyDir: {}})
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {name: 'mysql-client', namespace: ns, labels: {...labels, app: 'mysql-client'}, annotations: {'deployment.kubernetes.io/revision': '1'}},
    spec: {
      replicas,
      strategy: {type: 'Recreate'},
      selector: {matchLabels: {app: 'mysql-client'}},
      template: {
        metadata: {labels: {app: 'mysql-client'}},
        spec: {
          terminationGracePeriodSeconds: 60,
          containers: [
            {
              name: 'mysql-client',
              image: MYSQL_IMAGE,
              ports: [{name: 'mysql-client', containerPort: 3306, protocol: 'TCP'}],
              env: [{name: 'MYSQL_ROOT_PASSWORD', valueFrom: {secretKeyRef: {name: secretName, key: 'MYSQL_ROOT_PASSWORD'}}}],
              securityContext: {runAsUser: 999, runAsGroup: 999, readOnlyRootFilesystem: true},
              // The chart pings 127.0.0.1 every 10 s. The sandbox's server listens on its socket only (no TCP), so the
              // ping goes there, and every second so the pod turns Ready soon after a start.
              readinessProbe: {exec: {command: ['mysqladmin', '--no-defaults', '--socket=/var/run/mysqld/mysqld.sock', 'ping']}, periodSeconds: 1, timeoutSeconds: 2},
              volumeMounts: [
                {name: 'mysql-data', mountPath: '/var/lib/mysql/'},
                {name: 'mysqld-run', mountPath: '/var/run/mysqld'},
                {name: 'tmp', mountPath: '/tmp'},
                {name: 'mysql-files', mountPath: '/var/lib/mysql-files'},
                {name: 'mysql-log', mountPath: '/var/log/mysql'},
                {name: 'config', mountPath: '/etc/mysql/conf.d/'},
              ],
            },
          ],
          volumes: [
            {name: 'mysql-data', persistentVolumeClaim: {claimName: MYSQL_PVC}},
            emptyDir('mysqld-run'),
            emptyDir('tmp'),
            emptyDir('mysql-files'),
            emptyDir('mysql-log'),
            {name: 'config', configMap: {name: 'mysql-client-config'}},
          ],
        },
      },
    },
  }
}

export const MYSQL_CONFIG = '[mysqld]\ncharacter-set-server=utf8mb4\ncollation-server=utf8mb4_unicode_ci\nmax_allowed_packet=256M\nmax_connections=200\nwait_timeout=28800\n'

/** Runs SQL (on stdin) through the host's `mysql` client against the server's socket; rejects with its stderr. */
export function hostQuery(socketDir: string, password: string, sql: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // cwd + a relative socket path: the absolute host path can exceed the 108-byte sun_path limit
    const p = spawn('mysql', ['--no-defaults', '-S', 'mysqld.sock', '-uroot', '-N', '-B'], {cwd: socketDir, env: {...process.env, MYSQL_PWD: password}, stdio: ['pipe', 'pipe', 'pipe']})
    let out = ''
    let err = ''
    p.stdout.on('data', (d) => (out += d))
    p.stderr.on('data', (d) => (err += d))
    p.on('error', reject)
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(err.trim() || `mysql exited ${code}`))))
    // a client that exits at once (no server on the socket yet) closes stdin first: its exit reports that, not EPIPE
    p.stdin.on('error', () => {})
    p.stdin.end(sql)
  })
}
