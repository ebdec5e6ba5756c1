// The part of OpenAPI v3 discovery kubectl 1.32 needs for `create -f`/`apply -f` with validation on
// (the default --validate=strict): kubectl reads /openapi/v3, then the group-version document, and
// looks for a PATCH operation tagged with the object's x-kubernetes-group-version-kind that takes the
// `fieldValidation` query parameter. Found → it skips client-side schema validation and sends
// ?fieldValidation=Strict instead. So the documents carry operations and parameters only, no schemas
// (`kubectl explain` therefore has nothing to show). The sandbox accepts fieldValidation but does not
// reject unknown fields the way a real server's Strict mode does.
import {createHash} from 'node:crypto'
import {RESOURCES, type ResourceInfo} from './resources.js'

const gvPath = (group: string, version: string) => (group ? `apis/${group}/${version}` : `api/${version}`)

const QUERY_PARAMS = ['dryRun', 'fieldManager', 'fieldValidation', 'pretty']

function operation(r: ResourceInfo, verb: string): Record<string, unknown> {
  return {
    operationId: `${verb}${r.kind}`,
    'x-kubernetes-action': verb === 'patch' ? 'patch' : 'post',
    'x-kubernetes-group-version-kind': {group: r.group, version: r.version, kind: r.kind},
    parameters: QUERY_PARAMS.map((name) => ({name, in: 'query', schema: {type: 'string', uniqueItems: true}})),
    responses: {200: {description: 'OK'}},
  }
}

/** The OpenAPI v3 document of one group version, or undefined when the sandbox does not serve it. */
export function openApiV3Document(group: string, version: string): Record<string, unknown> | undefined {
  const rs = RESOURCES.filter((r) => r.group === group && r.version === version)
  if (rs.length === 0) return undefined
  const paths: Record<string, unknown> = {}
  for (const r of rs) {
    const base = `/${gvPath(group, version)}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.resource}`
    if (r.verbs.includes('create')) paths[base] = {post: operation(r, 'create')}
    if (r.verbs.includes('patch')) paths[`${base}/{name}`] = {patch: operation(r, 'patch')}
  }
  return {openapi: '3.0.0', info: {title: 'Kubernetes', version: 'v1.32.0-sandbox'}, paths, components: {schemas: {}}}
}

/** /openapi/v3: one serverRelativeURL per group version, with a content hash as the real server does. */
export function openApiV3Root(): Record<string, unknown> {
  const gvs = new Map<string, [string, string]>()
  for (const r of RESOURCES) gvs.set(gvPath(r.group, r.version), [r.group, r.version])
  const paths: Record<string, {serverRelativeURL: string}> = {}
  for (const [p, [g, v]] of gvs) {
    const hash = createHash('sha512').update(JSON.stringify(openApiV3Document(g, v))).digest('hex').slice(0, 128).toUpperCase()
    paths[p] = {serverRelativeURL: `/openapi/v3/${p}?hash=${hash}`}
  }
  return {paths}
}
