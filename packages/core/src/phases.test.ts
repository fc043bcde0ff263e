import { describe, expect, it } from 'vitest';
import { PodPhase, phaseOf } from './phases.js';

describe('phaseOf', () => {
  it('reads status.phase', () => {
    expect(phaseOf({ status: { phase: 'Running' } })).toBe(PodPhase.Running);
  });

  it('counts a pod without a phase as Pending', () => {
    expect(phaseOf({})).toBe('Pending');
    expect(phaseOf({ status: {} })).toBe('Pending');
    expect(phaseOf({ status: { phase: '' } })).toBe('Pending');
  });

  it('reports a phase it does not know as Unknown', () => {
    expect(phaseOf({ status: { phase: 'Evicted' } })).toBe('Unknown');
  });
});
