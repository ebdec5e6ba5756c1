// Entry point of the emulated ingestor image: the kubelet runs this (under bubblewrap, as uid 65534)
// for any pod whose image is ghcr.io/tracebloc/ingestor…; the active fault arrives in SANDBOX_INGESTOR_FAULT.
import {runIngestor, type IngestorFault} from './ingestor.js'

// The kubelet binds the socket of the Running mysql-client pod here (the sandbox's Service networking).
const SOCKET = '/var/run/mysqld/mysqld.sock'

const code = await runIngestor({
  env: process.env,
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  fault: (process.env.SANDBOX_INGESTOR_FAULT || undefined) as IngestorFault | undefined,
  slowMs: Number(process.env.SANDBOX_INGESTOR_SLOW_MS) || undefined,
  // no socket when no mysql-client pod runs: the entrypoint then waits for MySQL and gives up (exit 65)
  db: {socket: SOCKET, user: process.env.DB_USER || 'root', password: process.env.DB_PASSWORD ?? ''},
})
process.exitCode = code
