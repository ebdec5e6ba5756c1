// The base of an SQL type name ("varchar(64)" → "VARCHAR"). Its own module so the CSV range workers
// can use it without loading the schema validator.
export function sqlBaseType(type: string): string {
  return type.trim().toUpperCase().split('(')[0].trim().split(/\s+/)[0] ?? ''
}
