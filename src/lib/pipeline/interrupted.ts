// What an interrupted push tells the user: where the run stands (what is and is not in the cluster)
// and the one command that resumes it. Interruptions after the submit are reported by the command
// (the ingestion keeps running there).
import type {PushContext} from './context.js'

export function interruptedReport(ctx: PushContext, signal: string): {message: string; hint: string} {
  const by = `Interrupted (${signal})`
  const again = 'run the same command again'
  switch (ctx.phase) {
    case 'stage': {
      if (ctx.swapped) {
        return {message: `${by} after staging: the files are staged on client-pvc; nothing was submitted.`, hint: `${again}: unchanged files are not sent again`}
      }
      return {
        message: `${by} while staging: the stage pod was removed and nothing was submitted; files already verified on client-pvc are kept.`,
        hint: `${again}: it resumes from the verified files`,
      }
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
