/**
 * The one policy podstorage has about resourceVersions: they are opaque strings, and only equality
 * means anything. Kubernetes promises no format and no order (an etcd-backed server happens to use
 * increasing integers, an aggregated or restored server need not), so nothing here ever orders two
 * versions. Where the engine must know whether a view is at least as new as a read, it waits until the
 * view holds the very version it read, or reads again; a deletion is news whatever version it carries.
 */
export function sameResourceVersion(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && a !== '' && a === b;
}
