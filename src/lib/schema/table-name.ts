// The table-name rule, in one place: the ingestor's TableName validator (start with a letter, then
// letters, digits and _) and the 63-character limit. A name the user types and a name read back from the
// cluster, the PVC or the local cache are checked by the same function.
export const TABLE_NAME_RE = /^[A-Za-z][A-Za-z0-9_]*$/
export const TABLE_NAME_MAX = 63

export function isTableName(name: unknown): boolean {
  return typeof name === 'string' && name.length > 0 && name.length <= TABLE_NAME_MAX && TABLE_NAME_RE.test(name)
}
