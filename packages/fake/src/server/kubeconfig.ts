/** What a kubeconfig for the fake cluster says. */
export interface KubeconfigOptions {
  readonly url: string;
  /** PEM of the CA that signed the server certificate (HTTPS). */
  readonly ca?: string;
  readonly token?: string;
  /** The context's default namespace. Default `default`. */
  readonly namespace?: string;
  /** Cluster, user and context name. Default `podstorage-fake`. */
  readonly name?: string;
}

// JSON strings are valid YAML scalars, so every value is written with JSON.stringify: no escaping bugs.
const quote = (value: string) => JSON.stringify(value);

/**
 * A kubeconfig (YAML) for kubectl and client libraries. An `http:` server is marked
 * `insecure-skip-tls-verify`, which `@kubernetes/client-node` needs before it will talk plain HTTP.
 */
export function buildKubeconfig(options: KubeconfigOptions): string {
  const name = options.name ?? 'podstorage-fake';
  const security =
    options.ca !== undefined
      ? `    certificate-authority-data: ${quote(Buffer.from(options.ca).toString('base64'))}`
      : '    insecure-skip-tls-verify: true';
  const user = options.token !== undefined ? `    token: ${quote(options.token)}` : '    {}';
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${quote(name)}`,
    '  cluster:',
    `    server: ${quote(options.url)}`,
    security,
    'users:',
    `- name: ${quote(name)}`,
    '  user:',
    user,
    'contexts:',
    `- name: ${quote(name)}`,
    '  context:',
    `    cluster: ${quote(name)}`,
    `    user: ${quote(name)}`,
    `    namespace: ${quote(options.namespace ?? 'default')}`,
    `current-context: ${quote(name)}`,
    'preferences: {}',
    '',
  ].join('\n');
}
