/** One validation finding, in the ingestor's shape: dotted instance path (`<root>` at top level). */
export interface SchemaIssue {
  path: string
  message: string
  /** The failing JSON-Schema keyword (`required`, `oneOf`, …) or one of the runtime checks
   * (`tableName`, `sqlType`, `reservedColumn`, `inPodPath`, `sidecarLayout`, `columnName`, `mapping`). */
  keyword: string
}
