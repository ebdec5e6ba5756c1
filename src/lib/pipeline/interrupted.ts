// What an interrupted push tells the user: where the run stands (what is and is not in the cluster)
// and the one command that resumes it. Interruptions after the submit are reported by the command
// (the ingestion keeps running there).
import {count, humanBytes, plural} from '../output/format.js'
import type {PushContext} from './context.js'

export function interruptedReport(ctx: PushContext, signal: string): {message: string; hint: string} {
  const by = `Interrupted (${signal})`
  const again = 'run the same command again'
  switch (ctx.phase) {
    case 'stage': {
      if (ctx.swapped) {
        return {message: `${by} after staging: the files are staged on client-pvc; nothing was submitted.`, hint: `${again}: unchanged files are not sent again`}
      }
      return {message: `${by} while staging: the stage pod was removed and nothing was submitted; ${stagedSoFar(ctx)}.`, hint: `${again}: it keeps what is on client-pvc and sends the rest`}
    }
    case 'submit': {
      return {
        message: `${by} while submitting: the files are staged; jobs-manager may or may not have started the run.`,
        hint: `${again} with --idempotency-key ${ctx.idempotencyKey}: it attaches to the run if it was created, or starts it`,
      }
    }
    case 'connect': {
      return {message: `${by} while connecting to the cluster: nothing was sent to it.`, hint: `${again} to start over`}
    }
    default: {
      return {message: `${by} during local validation: nothing was sent to the cluster.`, hint: `${again} to start over`}
    }
  }
}

/**
 * The real figure at the cut: files the pod verified are kept by the re-run; files that left this machine
 * but were not yet checked are checked there by hash and kept when whole; the rest is sent.
 */
function stagedSoFar(ctx: PushContext): string {
  const p = ctx.staging
  // a remote push's pod pulls the files itself; its figures are not followed here
  if (!p) return ctx.remote ? 'the files the stage pod already pulled and verified on client-pvc are kept' : 'this run had sent no file yet'
  const verified = p.skippedFiles + p.files
  const verifiedBytes = p.skippedBytes + p.bytes
  const unchecked = Math.max(0, p.sentFiles - p.files)
  const all = p.skippedFiles + p.totalFiles
  return `${count(verified)} of ${plural(all, 'file')} (${humanBytes(verifiedBytes)}) are on client-pvc and verified, and the re-run keeps them${unchecked > 0 ? `; ${count(unchecked)} more were sent but not yet checked: the re-run checks them there by hash and keeps those that arrived whole` : ''}`
}
