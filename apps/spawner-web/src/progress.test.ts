import type { Pod } from '@podstorage/core';
import { describe, expect, it } from 'vitest';
import { ProgressTracker, stageOfMessage, stageOfPod } from './progress.js';

describe('progress', () => {
  it('reads the stage from the messages the scheduler and kubelet record', () => {
    expect(stageOfMessage('Successfully assigned default/web to node-1')).toBe('scheduled');
    expect(stageOfMessage('Pulling image "busybox:1.36"')).toBe('pulling');
    expect(stageOfMessage('Successfully pulled image "busybox:1.36" in 3s (3s including waiting)')).toBe(
      'pulled',
    );
    expect(stageOfMessage('Container image "busybox:1.36" already present on machine')).toBe('pulled');
    // The v1.32 kubelet's words, and the newer kubelets' (kuberuntime_container.go startContainer).
    expect(stageOfMessage('Created container main')).toBe('pulled');
    expect(stageOfMessage('Created container: main')).toBe('pulled');
    expect(stageOfMessage('Started container main')).toBe('running');
    expect(stageOfMessage('Back-off pulling image "nope"')).toBeUndefined();
  });

  it('reads the stage from the pod: node, container states, phase', () => {
    expect(stageOfPod({ metadata: { name: 'p' } })).toBe('created');
    expect(stageOfPod({ spec: { containers: [], nodeName: 'node-1' } })).toBe('scheduled');
    const running: Pod = {
      spec: { containers: [], nodeName: 'node-1' },
      status: { phase: 'Pending', containerStatuses: [stateOf({ running: {} })] },
    };
    expect(stageOfPod(running)).toBe('running');
    expect(stageOfPod({ status: { phase: 'Succeeded' } })).toBe('finished');
  });

  it('never moves back, and says when the pod failed', () => {
    const tracker = new ProgressTracker();
    expect(tracker.current()).toEqual({ stage: 'created', percent: 17, failed: false, ending: null });
    expect(tracker.message('Pulling image "x"').stage).toBe('pulling');
    expect(tracker.message('Successfully assigned default/p to n').stage).toBe('pulling');
    expect(tracker.phase('Running')).toEqual({ stage: 'running', percent: 83, failed: false, ending: null });
    expect(tracker.phase('Pending').stage).toBe('running');
    expect(tracker.phase('Failed')).toEqual({ stage: 'finished', percent: 100, failed: true, ending: null });
  });

  it('says when the pod is being stopped, and when it is gone, keeping its stage', () => {
    const tracker = new ProgressTracker();
    tracker.phase('Running');
    // The kubelet's Killing event, pkg/kubelet/events (KillingContainer): "Stopping container main".
    expect(tracker.message('Stopping container main')).toMatchObject({
      stage: 'running',
      ending: 'stopping',
    });
    expect(tracker.gone()).toMatchObject({ stage: 'running', ending: 'deleted' });
    expect(tracker.stopping().ending).toBe('deleted');
    const deleting = new ProgressTracker({ metadata: { deletionTimestamp: '2026-01-01T00:00:00Z' } });
    expect(deleting.current().ending).toBe('stopping');
  });
});

function stateOf(state: object) {
  return { name: 'main', image: 'x', imageID: '', ready: false, restartCount: 0, state };
}
