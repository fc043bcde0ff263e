const DECIMAL = /^[1-9][0-9]*$/;

/**
 * Orders two resourceVersions when that is possible: negative when `a` is older, positive when newer,
 * zero when equal; `undefined` when either is not a decimal integer. Kubernetes calls resourceVersions
 * opaque, but etcd-backed servers give increasing integers (and newer servers promise comparability);
 * callers must treat `undefined` as "unknown", never as "equal".
 */
export function compareResourceVersions(a: string | undefined, b: string | undefined): number | undefined {
  if (a === undefined || b === undefined || !DECIMAL.test(a) || !DECIMAL.test(b)) return undefined;
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
