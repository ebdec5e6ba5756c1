// Names inside a table's staging work dir on client-pvc (the paths themselves: pvc/paths.ts).
import {shQuote} from '../cluster/exec.js'
import {VERIFIED_NAME} from './manifest.js'

export const VERIFIED_DIR = `${VERIFIED_NAME}.d`
/** In the work dir: one record per range of a large file that landed (`<md5 or sha256> <offset> <length> <size> <name>`), so a later run can resume inside the file. */
export const RANGES_DIR = '.tb-ranges'

/** The swap script's exit code when a manifest line is not on the verified list (nothing was swapped). */
export const SWAP_UNVERIFIED = 95

/**
 * The pod script that puts a finished work dir in place, for local and remote pushes alike: unpack the
 * manifest tar (`manifestBytes` on stdin) into the work dir; refuse (exit SWAP_UNVERIFIED, one
 * `@@UNVERIFIED <name>` line each) unless every manifest line (sha256 and name) is on the verified list
 * the pod wrote as each file passed its check; then the atomic swap (dest → backup, work → dest, remove
 * backup), the lock released, and leftovers of crashed runs of this table older than an hour swept.
 * Every argument is a path or name quoted by the caller except `table`, quoted here.
 */
export function swapScript(p: {work: string; dest: string; backup: string; lock: string; root: string; table: string; manifestBytes: number; manifestName: string}): string {
  return [
    'set -e',
    `cd ${p.work}`,
    `head -c ${p.manifestBytes} | tar -x -f -`,
    `cat ${shQuote(VERIFIED_DIR)}/* > .tb-verified 2>/dev/null || :`,
    `awk 'FILENAME == ".tb-verified" { v[$0] = 1; next } !($0 in v) { print "@@UNVERIFIED " substr($0, 67); bad = 1 } END { exit bad }' .tb-verified ${shQuote(p.manifestName)} || exit ${SWAP_UNVERIFIED}`,
    `rm -rf ${shQuote(VERIFIED_DIR)} ./.tb-*`,
    'cd /',
    `if [ -e ${p.dest} ]; then mv ${p.dest} ${p.backup}; fi`,
    `if ! mv ${p.work} ${p.dest}; then if [ -e ${p.backup} ]; then mv ${p.backup} ${p.dest}; fi; exit 1; fi`,
    `rm -rf ${p.backup}`,
    `rm -f ${shQuote(p.lock)}`,
    // like the Go CLI: crashed runs' copies of this table go after an hour
    `find ${shQuote(p.root)} -maxdepth 1 \\( -name ${shQuote(`${p.table}.staging-*`)} -o -name ${shQuote(`${p.table}.old-*`)} \\) -mmin +60 -exec rm -rf {} + 2>/dev/null || true`,
  ].join('\n')
}
