import {Flags} from '@oclif/core'

import {BaseCommand} from '../../lib/command/base.js'
import {clusterFlags} from '../../lib/command/cluster-flags.js'
import {readCatalog} from '../../lib/catalog/catalog.js'
import {connectForDatasets} from '../../lib/catalog/connect.js'
import {READ_PERMISSIONS} from '../../lib/catalog/permissions.js'
import {listDetail, listRows} from '../../lib/catalog/view.js'
import {style} from '../../lib/output/style.js'

export default class DatasetList extends BaseCommand<typeof DatasetList> {
  static summary = 'List the datasets in your tracebloc client'
  static description =
    'Reads the client’s MySQL (through the mysql-client pod) and client-pvc: every dataset with its category, intent, records, ' +
    'label classes, size, files and when it was ingested. Bookkeeping tables are hidden unless --all.'
  static aliases = ['data:list']
  static hiddenAliases = ['data:list']
  static examples = ['<%= config.bin %> dataset list', '<%= config.bin %> dataset list --json']
  static flags = {
    all: Flags.boolean({description: 'Also show system (bookkeeping) tables'}),
    ...clusterFlags,
  }

  async run() {
    const f = this.flags
    const conn = await connectForDatasets({kubeconfig: f.kubeconfig, context: f.context, namespace: f.namespace}, {permissions: READ_PERMISSIONS, pvc: false})
    const cat = await readCatalog(conn.target, conn.namespace, {pvc: true})
    const shown = cat.datasets.filter((d) => f.all || !d.system)
    const hidden = cat.datasets.length - shown.length
    for (const n of [...conn.notes, ...cat.notes]) this.note(style.dim(`note: ${n}`))
    this.out(`${style.bold(`Datasets in ${conn.namespace}`)} (release ${conn.release.release}) — ${shown.filter((d) => !d.system).length}`)
    if (shown.length === 0) {
      this.out(cat.databaseExists ? 'No datasets yet.' : 'No datasets yet (the database training_test_datasets does not exist).')
      this.out('Push one with: tracebloc dataset push <folder> --table <name>')
    } else {
      for (const l of listRows(shown)) this.out(l)
    }
    if (hidden > 0) this.note(style.dim(`${hidden} system table${hidden > 1 ? 's' : ''} hidden (--all shows them)`))
    return {
      namespace: conn.namespace,
      release: conn.release.release,
      count: shown.length,
      datasets: shown.map((d) => d.name),
      details: shown.map(listDetail),
      database_exists: cat.databaseExists,
      notes: [...conn.notes, ...cat.notes],
    }
  }
}
