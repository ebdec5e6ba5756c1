// Small files travel in tar batches, one exec each: the pod extracts the archive, checks every file against
// the batch's trailing checksum entry (`sha256sum -c` of the manifest lines themselves where the pod's
// sha256 is fast, else `md5sum -c` of md5 lines: pod-hash.ts), and records the sha256 lines of the files
// that pass.
import {hash as oneShotHash} from 'node:crypto'

import {shQuote} from '../cluster/exec.js'
import {CliError, ExitCode} from '../output/errors.js'
import {checksumFileSize, HashedEntry, manifestLine} from './manifest.js'
import type {Batch, StreamOptions, StreamResult} from './types.js'
import {VERIFIED_DIR} from './work-dir.js'
import {hashCommand, HEX_DIGITS} from './pod-hash.js'
import {remoteFailure, Stager} from './stager.js'
import {TarEntry, tarSize, tarStream} from './tar.js'
import {FileHashes} from './file-hashes.js'
import {gzipped, StdinMeter} from './stdin.js'

/** One batch = one exec: extract, check every file in the pod, record what verified. Returns files that failed. */
export async function sendBatch(s: Stager, o: StreamOptions, b: Batch, result: StreamResult, onBytes: (fileBytes: number) => void, onSent: () => void): Promise<HashedEntry[]> {
  const names = b.files.map((e) => e.name)
  const check = s.hash
  // Trailing entries, written once every file is read: the sha256 manifest lines (recorded for the files
  // that pass the pod's check) and, where the pod checks md5, md5 lines for that check.
  const md5s = new Map<HashedEntry, string>()
  const shaName = `.tb-batch-${b.id}.sha256`
  const shaEntry: TarEntry = {
    localPath: '',
    name: shaName,
    size: checksumFileSize(names),
    data: () => Buffer.from(b.files.map((e) => manifestLine(e.sha256!, e.name)).join(''), 'utf8'),
  }
  const checkName = check === 'sha256' ? shaName : `.tb-batch-${b.id}.md5`
  const checkEntries: TarEntry[] =
    check === 'sha256'
      ? [shaEntry]
      : [{localPath: '', name: checkName, size: checksumFileSize(names, HEX_DIGITS.md5), data: () => Buffer.from(b.files.map((e) => `${md5s.get(e)}  ${e.name}\n`).join(''), 'utf8')}, shaEntry]
  const tarEntries: TarEntry[] = [...b.files, ...checkEntries]
  const archiveSize = tarSize(tarEntries)
  const W = shQuote(s.o.paths.work)
  const M = shQuote(checkName)
  const S = shQuote(shaName)
  const res = shQuote(`.tb-batch-${b.id}.res`)
  const okf = shQuote(`${VERIFIED_DIR}/${b.id}`)
  // v5 closes stdin at the end of the archive; v4 cannot, so there the archive is length-framed. (busybox
  // `head -c` copies in small reads and halved the stream's throughput: it is only used where it is needed.)
  const v5 = s.protocol === 'v5.channel.k8s.io'
  // gunzip in its own process: busybox tar's -z is a build option (Debian's busybox-static lacks it)
  // -m: no mtime to restore (the archive's are 0), one syscall less per file (kubectl cp extracts with -m too)
  const extract = b.compress ? 'gzip -d -c | tar -x -m -f -' : v5 ? 'tar -x -m -f -' : `head -c ${archiveSize} | tar -x -m -f -`
  const script = [
    'set -e',
    `mkdir -p ${W}/${shQuote(VERIFIED_DIR)}`,
    `cd ${W}`,
    'touch .',
    extract,
    // exit 1 is "some file did not match" (each has its line); anything else means the check did not run
    `rc=0; ${hashCommand(check)} -c ${M} > ${res} 2>/dev/null || rc=$?`,
    `if [ $rc -gt 1 ]; then echo "${hashCommand(check)} -c exited $rc" >&2; exit ${CHECK_DID_NOT_RUN}; fi`,
    // record the sha256 lines of the files that passed, atomically (tmp + rename): parallel batches never
    // interleave. Picked by their own OK lines even when the check exited 0: an exit status alone (a hash
    // command that checked nothing) never makes a file verified on the volume.
    `awk 'NR==FNR { if (sub(/: OK$/, "")) ok[$0] = 1; next } (substr($0, 67) in ok)' ${res} ${S} > ${okf}.tmp`,
    `mv ${okf}.tmp ${okf}`,
    // every result line: the client counts a file as verified only on its own OK line
    `cat ${res}`,
    `rm -f ${M} ${S} ${res}`,
  ].join('\n')

  const meter = new StdinMeter(result, onBytes)
  const hashes = new Map<HashedEntry, FileHashes>()
  const whole = new Set<HashedEntry>()
  const r = await s.exec(script, `sending batch ${b.id} (${b.files.length} files)`, {
    stdin: () => {
      meter.restart()
      hashes.clear()
      whole.clear()
      const gen = tarStream(tarEntries, {
        signal: o.signal,
        reuseBuffer: !b.compress,
        onChunk: (e, chunk) => {
          const he = e as HashedEntry
          let h = hashes.get(he)
          // a small file comes whole in one chunk: one-shot digests (no hash objects per file)
          if (!h && chunk.length === he.size) {
            he.sha256 = oneShotHash('sha256', chunk)
            if (check === 'md5') md5s.set(he, oneShotHash('md5', chunk))
            whole.add(he)
          } else {
            if (!h) hashes.set(he, (h = new FileHashes(check)))
            h.update(chunk)
          }
          meter.file(chunk.length)
        },
        onFileDone: (e) => {
          const he = e as HashedEntry
          if (!whole.delete(he)) {
            const h = hashes.get(he) ?? new FileHashes(check)
            hashes.delete(he)
            he.sha256 = h.sha256.digest('hex')
            if (h.md5) md5s.set(he, h.md5.digest('hex'))
          }
          if (o.cache && he.mtimeMs !== undefined) o.cache.set(he.localPath, he.size, he.mtimeMs, he.sha256!)
        },
      })
      return b.compress ? gzipped(gen) : gen
    },
    onStdinProgress: (n) => meter.wire(n),
    onStdinDone: onSent,
    // room for every result line (`<name>: OK` or `<name>: FAILED …`): a cut-off listing would fail files that passed
    capture: checksumFileSize(names, 0) + 64 * names.length + (1 << 16),
  })
  meter.restart()
  if (b.compress) result.compressed = true
  if (r.exitCode === CHECK_DID_NOT_RUN) {
    throw new CliError(`the stage pod could not check batch ${b.id}: ${r.stderr.trim().split('\n').at(-1) ?? ''}`, {
      exitCode: ExitCode.STAGING,
      reason: 'stage_image_unusable',
      hint: `the stage image needs a working ${hashCommand(check)}: leave --stage-image at its default or use an image with busybox or coreutils`,
    })
  }
  if (r.exitCode !== 0) throw remoteFailure(`extracting batch ${b.id}`, o.namespace, s.pod, r)
  result.sentFiles += b.files.length
  // fail closed: a file is verified only with its own `<name>: OK` line; a missing line is a failure
  const okNames = new Set<string>()
  for (const line of r.stdout.split('\n')) if (line.endsWith(': OK')) okNames.add(line.slice(0, -': OK'.length))
  return b.files.filter((e) => !okNames.has(e.name))
}

/** The batch script's exit code when the hash command did not run (missing, crashed): never a pass. */
const CHECK_DID_NOT_RUN = 96
