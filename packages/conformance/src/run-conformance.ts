import { SuiteBuilder } from './suite.js';
import { createScenarios } from './suites/create.js';
import { deleteAfterCompletionScenarios } from './suites/delete-after-completion.js';
import { engineScenarios } from './suites/engine.js';
import { engineEdgeScenarios } from './suites/engine-edges.js';
import { eventsForPodScenarios } from './suites/events-for-pod.js';
import { kubeletScenarios } from './suites/kubelet.js';
import { logsScenarios } from './suites/logs.js';
import { reliabilityScenarios } from './suites/reliability.js';
import { scaleScenarios } from './suites/scale.js';
import { waitForPhaseScenarios } from './suites/wait-for-phase.js';
import { watchPodChangesScenarios } from './suites/watch-pod-changes.js';
import type {
  ConformanceCapabilities,
  ConformanceFactory,
  ConformanceOptions,
  ConformanceRunner,
} from './types.js';
import { DEFAULT_PATIENCE } from './waiting.js';

/** Every capability on: what a backend gets unless it says otherwise. */
export const ALL_CAPABILITIES: ConformanceCapabilities = {
  stallBeforeHeaders: true,
  latency: true,
  create: true,
  logs: true,
};

/**
 * Registers the PodStorage conformance suite with a test runner. Each test makes a fresh fake cluster
 * (with its manual clock), asks `factory` for a backend connected to it, builds the storage with
 * `createPodStorage(backend.transport, { clock: cluster.clock, … })`, injects faults, and checks what
 * the design promises: pods are never lost, watches never go silent, nothing is left open.
 *
 * @example
 * import { describe, expect, it } from 'vitest';
 * runConformance({ describe, it, expect }, (cluster) => ({ transport: cluster.transport() }));
 */
export function runConformance(
  runner: ConformanceRunner,
  factory: ConformanceFactory,
  options: ConformanceOptions = {},
): void {
  const capabilities: ConformanceCapabilities = { ...ALL_CAPABILITIES, ...options.capabilities };
  const patience = { ...DEFAULT_PATIENCE, ...options.patience };
  const clock = options.clock ?? 'fake';
  const suite = new SuiteBuilder(
    runner,
    factory,
    capabilities,
    patience,
    options.testTimeoutMs ?? 60_000,
    clock,
    options.concurrent ?? false,
  );
  const name = options.name ?? `PodStorage conformance${clock === 'system' ? ' (system clock)' : ''}`;
  runner.describe(name, () => {
    suite.group('waitForPhase', () => waitForPhaseScenarios(suite));
    suite.group('deleteAfterCompletion', () => deleteAfterCompletionScenarios(suite));
    suite.group('eventsForPod', () => eventsForPodScenarios(suite));
    suite.group('watchPodChanges', () => watchPodChangesScenarios(suite));
    suite.group('watch engine', () => engineScenarios(suite));
    suite.group('reliability', () => reliabilityScenarios(suite));
    suite.group('engine edges', () => engineEdgeScenarios(suite));
    suite.group('scale', () => scaleScenarios(suite));
    suite.group('transport.create', () => createScenarios(suite));
    suite.group('pods on a node', () => kubeletScenarios(suite));
    suite.group('logs', () => logsScenarios(suite));
  });
}
