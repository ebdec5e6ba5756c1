import {Flags} from '@oclif/core'

import {BaseCommand} from '../lib/command/base.js'
import {clusterFlags, envMs} from '../lib/command/cluster-flags.js'
import {style} from '../lib/output/style.js'
import type {DoctorReport} from '../lib/probe/doctor.js'
import {DEFAULT_STAGE_IMAGE} from '../lib/pvc/stage-pod.js'

export default class Doctor extends BaseCommand<typeof Doctor> {
  static summary = 'Check everything a push needs, in one go, and say how to fix what is wrong'
  static description =
    'Runs every check in parallel: kubeconfig and credentials, the API server and its version, the client release, client-pvc and its free ' +
    'space, jobs-manager, MySQL, the permissions of each command family, an ingestor token (minted and thrown away), the stage image (a ' +
    'throwaway pod), stage pods and table locks left behind, staged copies without a run. Exits 0 when nothing failed, otherwise with the ' +
    'code a push would fail with. --bundle also writes a redacted support bundle.'
  static examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor -n tracebloc --context prod --json', '<%= config.bin %> doctor --bundle support.tar.gz']
  static flags = {
    ...clusterFlags,
    bundle: Flags.string({description: 'Also write a support bundle (.tar.gz): this report, recent runs with their events and logs, the release objects — secrets redacted'}),
    'stage-image': Flags.string({description: 'Image of the throwaway pod that checks pulling and client-pvc', default: DEFAULT_STAGE_IMAGE}),
  }

  async run(): Promise<DoctorReport & {bundle?: string}> {
    const f = this.flags
    const sig = this.interruption
    sig.cooperate()
    try {
      const {runDoctor} = await import('../lib/probe/doctor.js')
      const {report, probe} = await runDoctor(
        {kubeconfig: f.kubeconfig, context: f.context, namespace: f.namespace},
        {cliVersion: this.config.version, stageImage: f['stage-image'], podTimeoutMs: envMs('TRACEBLOC_STAGE_POD_TIMEOUT', 60), signal: sig.signal},
      )
      this.render(report)
      let bundle: string | undefined
      if (f.bundle) {
        const {writeBundle} = await import('../lib/probe/bundle.js')
        bundle = await writeBundle(f.bundle, {report, probe, cacheDir: this.config.cacheDir, cliVersion: this.config.version, signal: sig.signal})
        this.note(`Support bundle written to ${bundle} (tokens, credentials and Secret values removed).`)
      }
      process.exitCode = report.exit_code
      return {...report, ...(bundle ? {bundle} : {})}
    } finally {
      sig.release()
    }
  }

  private render(r: DoctorReport): void {
    const mark = {ok: style.green('✔'), warn: style.yellow('⚠'), fail: style.red('✖')}
    const width = Math.max(...r.checks.map((c) => c.name.length))
    if (r.context) this.out(style.dim(`context ${r.context}, server ${r.server}, namespace ${r.namespace}${r.cluster_uid ? `, cluster ${r.cluster_uid}` : ''}`))
    for (const c of r.checks) {
      this.out(`${mark[c.status]} ${c.name.padEnd(width)}  ${c.detail}`)
      if (c.fix && c.status !== 'ok' && !c.skipped) this.out(`  ${' '.repeat(width)}  ${style.dim('→')} ${c.fix}`)
    }
    const failed = r.checks.filter((c) => c.status === 'fail').length
    const warned = r.checks.filter((c) => c.status === 'warn').length
    this.out('')
    this.out(failed ? `${mark.fail} ${failed} failed, ${warned} warning(s): a push would fail (exit ${r.exit_code}).` : `${mark.ok} Ready for \`tracebloc dataset push\`${warned ? ` (${warned} warning(s))` : ''}.`)
  }
}
