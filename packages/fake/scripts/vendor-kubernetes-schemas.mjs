#!/usr/bin/env node
// Regenerates the Kubernetes schemas the fake API server serves and decodes with, from Kubernetes' own
// sources (see src/server/schemas/README.md for where they come from and their license):
//
//   node packages/fake/scripts/vendor-kubernetes-schemas.mjs SWAGGER_JSON PROTO_ROOT
//
// SWAGGER_JSON: api/openapi-spec/swagger.json of a Kubernetes release. PROTO_ROOT: a folder holding
// k8s.io/api/{core,events,authorization}/v1/generated.proto and k8s.io/apimachinery/pkg/.../generated.proto
// as in the kubernetes/api and kubernetes/apimachinery repositories.
//
// Writes src/server/schemas/openapi-v2.json (the swagger trimmed to the served kinds and every definition
// they reach) and src/server/schemas/kubernetes-proto.json (protobufjs's JSON form of the .proto files,
// comments dropped). Nothing is edited by hand: rerun this to move to another release.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const [swaggerPath, protoRoot] = process.argv.slice(2);
if (!swaggerPath || !protoRoot) {
  console.error('usage: vendor-kubernetes-schemas.mjs SWAGGER_JSON PROTO_ROOT');
  process.exit(2);
}
const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'server', 'schemas');

// The kinds the server serves (Node for the simulated nodes) and the meta kinds it answers with.
const ROOTS = [
  'io.k8s.api.core.v1.Pod',
  'io.k8s.api.core.v1.PodList',
  'io.k8s.api.core.v1.Event',
  'io.k8s.api.core.v1.EventList',
  'io.k8s.api.core.v1.Namespace',
  'io.k8s.api.core.v1.NamespaceList',
  'io.k8s.api.core.v1.Node',
  'io.k8s.api.core.v1.NodeList',
  'io.k8s.api.events.v1.Event',
  'io.k8s.api.events.v1.EventList',
  'io.k8s.api.authorization.v1.SelfSubjectAccessReview',
  'io.k8s.apimachinery.pkg.apis.meta.v1.Status',
  'io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions',
  'io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent',
  'io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList',
];
// Only the paths of what is served, so kubectl sees the verbs and parameters it may use.
const PATH_PATTERN = new RegExp(
  [
    '^/api/v1/(watch/)?(pods|events|nodes|namespaces)$',
    '^/api/v1/(watch/)?(namespaces|nodes)/\\{name\\}(/status)?$',
    '^/api/v1/(watch/)?namespaces/\\{namespace\\}/(pods|events)(/\\{name\\})?(/status)?$',
    '^/apis/events\\.k8s\\.io/v1/(watch/)?(events|namespaces/\\{namespace\\}/events(/\\{name\\})?)$',
    '^/apis/authorization\\.k8s\\.io/v1/selfsubjectaccessreviews$',
  ].join('|'),
);

const swagger = JSON.parse(readFileSync(swaggerPath, 'utf8'));
const keep = new Set();
const keptParameters = new Set();
const visit = (name) => {
  if (keep.has(name)) return;
  if (!swagger.definitions[name]) throw new Error(`no definition ${name}`);
  keep.add(name);
  collectRefs(swagger.definitions[name]);
};
const collectRefs = (node) => {
  if (Array.isArray(node)) for (const item of node) collectRefs(item);
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string' && value.startsWith('#/parameters/')) {
        const parameter = value.slice('#/parameters/'.length);
        keptParameters.add(parameter);
        collectRefs(swagger.parameters[parameter]);
      } else if (key === '$ref' && typeof value === 'string') visit(value.replace('#/definitions/', ''));
      else collectRefs(value);
    }
  }
};
for (const root of ROOTS) visit(root);
const paths = Object.fromEntries(Object.entries(swagger.paths).filter(([path]) => PATH_PATTERN.test(path)));
collectRefs(paths);
const trimmed = {
  swagger: swagger.swagger,
  info: swagger.info,
  paths,
  parameters: Object.fromEntries([...keptParameters].sort().map((name) => [name, swagger.parameters[name]])),
  definitions: Object.fromEntries([...keep].sort().map((name) => [name, swagger.definitions[name]])),
  securityDefinitions: swagger.securityDefinitions,
  security: swagger.security,
};
writeFileSync(join(out, 'openapi-v2.json'), `${JSON.stringify(trimmed)}\n`);

const root = new protobuf.Root();
root.resolvePath = (_origin, target) => join(protoRoot, target);
root.loadSync(
  [
    'k8s.io/api/core/v1/generated.proto',
    'k8s.io/api/events/v1/generated.proto',
    'k8s.io/api/authorization/v1/generated.proto',
  ],
  { keepCase: true },
);
writeFileSync(join(out, 'kubernetes-proto.json'), `${JSON.stringify(root.toJSON())}\n`);
console.log(
  `openapi-v2.json: ${keep.size} definitions, ${Object.keys(paths).length} paths; kubernetes-proto.json written`,
);
