// What keeps `pnpm install` on a fresh clone quiet, checked where it can drift: no "Unsupported engine"
// (pnpm checks engines against the Node that runs the scripts, not the system's) and no "Failed to
// create bin" (a bin that points into dist/ does not exist before the first build). .ci/run also fails
// on either warning in its install.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { publishedPackages, REPOSITORY_ROOT, readManifest } from './packed-project.js';

describe('a quiet install', () => {
  it('checks engines against the Node of the root devDependency `node`', () => {
    const workspace = parse(readFileSync(join(REPOSITORY_ROOT, 'pnpm-workspace.yaml'), 'utf8')) as {
      nodeVersion?: string;
    };
    expect(workspace.nodeVersion).toBe(readManifest(REPOSITORY_ROOT).devDependencies?.node);
  });

  it('links bins of the published packages to files that exist before a build', () => {
    for (const { directory, manifest } of publishedPackages()) {
      const bins = (JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')) as { bin?: object })
        .bin;
      for (const [name, target] of Object.entries(bins ?? {})) {
        expect(String(target), `${manifest.name} bin ${name}`).not.toMatch(/^(\.\/)?dist\//);
        expect(existsSync(join(directory, String(target))), `${manifest.name} bin ${name}`).toBe(true);
      }
    }
  });
});
