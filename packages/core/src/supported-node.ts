// Imported first by every entry of every @podstorage package, as a module of its own (an external import
// of `@podstorage/core/supported-node`, which bundlers keep in order ahead of undici and
// @kubernetes/client-node): on an older Node those crash at import with errors that do not say why
// ("Cannot read properties of undefined (reading 'bind')"). Evaluating this module is the check.

/** The oldest Node.js the @podstorage packages run on (undici 8 and @kubernetes/client-node 2 need it). */
export const MINIMUM_NODE_VERSION = '22.19.0';

/** Whether `version` (`process.versions.node`, such as `20.20.2`) is at least {@link MINIMUM_NODE_VERSION}. */
export function isSupportedNodeVersion(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 19);
}

// Deno and Bun report a Node.js compatibility version here; elsewhere there is nothing to check.
const running = (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node;
if (running !== undefined && !isSupportedNodeVersion(running)) {
  throw new Error(
    `@podstorage packages need Node.js >= 22.19 (the undici and @kubernetes/client-node they use do), ` +
      `but this is Node.js ${running}: upgrade Node.js (see "engines" in their package.json).`,
  );
}
