import {BaseCommand} from '../lib/command/base.js'

export default class Login extends BaseCommand<typeof Login> {
  static summary = 'Sign in to the tracebloc backend (not needed in v0.1)'
  static description =
    'v0.1 talks only to your own cluster through your kubeconfig; ingestion needs no tracebloc account sign-in. ' +
    'This command is a placeholder so scripts written for later versions keep working.'
  static examples = ['<%= config.bin %> login']

  async run(): Promise<{status: string; message: string}> {
    const message = 'No sign-in needed: v0.1 uses only your kubeconfig to reach your tracebloc client. Nothing to do.'
    this.out(message)
    return {status: 'ok', message}
  }
}
