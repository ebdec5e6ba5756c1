// Names inside a table's staging work dir on client-pvc (the paths themselves: pvc/paths.ts).
import {VERIFIED_NAME} from './manifest.js'

export const VERIFIED_DIR = `${VERIFIED_NAME}.d`
/** In the work dir: one record per range of a large file that landed (`<md5 or sha256> <offset> <length> <size> <name>`), so a later run can resume inside the file. */
export const RANGES_DIR = '.tb-ranges'
