import { describe, expect, it } from 'vitest';
import { stageOf } from './reporters.js';

// The progress bar's stages come from the kubelet's event messages, whose wording moves between
// versions (pkg/kubelet/kuberuntime/kuberuntime_container.go: "Created container %s" up to v1.32,
// "Created container: %s" after it): both must move the bar.
describe('the stage of an event message', () => {
  it('knows "Created container" with and without the colon', () => {
    const created = stageOf('Created container main');
    expect(created).toBeGreaterThan(stageOf('Pulling image "busybox"'));
    expect(stageOf('Created container: main')).toBe(created);
    expect(stageOf('Started container main')).toBe(created + 1);
  });

  it('leaves the bar where it is for a message it does not know', () => {
    expect(stageOf('Back-off restarting failed container main')).toBe(-1);
  });
});
