import { isIP } from 'node:net';

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|::1)$/i;

function hostOf(url: URL): string {
  return url.hostname
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '')
    .toLowerCase();
}

function defaultPort(url: URL): string {
  return url.port || (url.protocol === 'https:' || url.protocol === 'wss:' ? '443' : '80');
}

/**
 * Whether `NO_PROXY` exempts `url`, with the rules curl and Go share: `*` matches everything; an entry
 * matches the host itself and its subdomains (a leading dot is optional); an entry with `:port` matches
 * only that port; IP literals match exactly.
 */
export function noProxyMatches(url: URL, noProxy: string | undefined): boolean {
  if (noProxy === undefined || noProxy.trim() === '') return false;
  const host = hostOf(url);
  const port = defaultPort(url);
  for (const raw of noProxy.split(/[\s,]+/)) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    let name = entry;
    let entryPort: string | undefined;
    const bracketed = /^\[(.*)\](?::(\d+))?$/.exec(entry);
    if (bracketed) {
      name = bracketed[1] ?? '';
      entryPort = bracketed[2];
    } else if (isIP(entry) === 0) {
      const colon = entry.lastIndexOf(':');
      if (colon !== -1) {
        name = entry.slice(0, colon);
        entryPort = entry.slice(colon + 1);
      }
    }
    if (entryPort !== undefined && entryPort !== port) continue;
    name = name.replace(/^\*?\./, '');
    if (isIP(name) !== 0 || isIP(host) !== 0) {
      if (name === host) return true;
      continue;
    }
    if (host === name || host.endsWith(`.${name}`)) return true;
  }
  return false;
}

/**
 * The proxy to reach `server` through: the kubeconfig's `proxy-url` if set; else `HTTPS_PROXY` (https
 * servers) or `HTTP_PROXY` (either), upper or lower case, unless `NO_PROXY` exempts the server. Loopback
 * servers are never proxied from the environment, as in Go's `ProxyFromEnvironment`.
 */
export function proxyFor(
  server: URL,
  proxyUrl: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  if (proxyUrl !== undefined) return proxyUrl;
  if (LOOPBACK.test(hostOf(server))) return undefined;
  const read = (name: string) => env[name.toLowerCase()] || env[name] || undefined;
  if (noProxyMatches(server, read('NO_PROXY'))) return undefined;
  const secure = server.protocol === 'https:';
  return (secure ? read('HTTPS_PROXY') : undefined) ?? read('HTTP_PROXY');
}
