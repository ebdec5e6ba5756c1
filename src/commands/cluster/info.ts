import {BaseCommand} from '../../lib/command/base.js'
import {clusterFlags} from '../../lib/command/cluster-flags.js'
import {type ClusterInfo, clusterInfo, clusterInfoExitCode, clusterInfoLines} from '../../lib/probe/cluster-info.js'
import {Probe} from '../../lib/probe/probe.js'

export type {ClusterInfo} from '../../lib/probe/cluster-info.js'

export default class ClusterInfoCommand extends BaseCommand<typeof ClusterInfoCommand> {
  static summary = 'Show the tracebloc client release this CLI would push to, and whether it is ready'
  static examples = [
    '<%= config.bin %> cluster info',
    '<%= config.bin %> cluster info --kubeconfig ~/.kube/prod --context prod -n tracebloc',
    '<%= config.bin %> cluster info --json',
  ]
  static description = 'Exits 0 when a push would work; otherwise with the code of the first blocking problem, in the order a push meets them: 4 (client-pvc), 7 (permissions), 5 (token), 8 (jobs-manager).'
  static flags = {...clusterFlags}

  async run(): Promise<ClusterInfo> {
    const probe = new Probe(this.flags)
    const info = await clusterInfo(probe, (s) => this.warnLine(s))
    if (!this.jsonEnabled()) for (const l of clusterInfoLines(info)) this.out(l)
    if (!info.ready) process.exitCode = await clusterInfoExitCode(info, probe)
    return info
  }
}
