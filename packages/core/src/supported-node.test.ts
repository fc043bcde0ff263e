import { describe, expect, it } from 'vitest';
import { isSupportedNodeVersion, MINIMUM_NODE_VERSION } from './supported-node.js';

describe('the supported Node versions', () => {
  it('are 22.19 and newer, as "engines" says', () => {
    expect(MINIMUM_NODE_VERSION).toBe('22.19.0');
    for (const version of ['22.19.0', '22.20.1', '23.0.0', '24.21.0', '100.0.0'])
      expect(isSupportedNodeVersion(version), version).toBe(true);
    for (const version of ['20.20.2', '22.18.9', '22.0.0', '18.19.0', '9.99.99', ''])
      expect(isSupportedNodeVersion(version), version).toBe(false);
  });
});
