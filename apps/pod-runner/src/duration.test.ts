import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration.js';

// kubectl's duration flags take Go's time.ParseDuration, which needs a unit on every number
// (staging/src/k8s.io/kubectl/pkg/cmd/wait/wait.go reads --timeout with it): "30" is refused there.
describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['10m', 600_000],
    ['1h30m', 5_400_000],
    ['500ms', 500],
    ['1.5s', 1_500],
    [' 2m ', 120_000],
  ])('%j is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    ['30', /invalid duration "30": missing unit \(use 30s, 30m or 30ms\)/],
    ['1.5', /invalid duration "1.5": missing unit/],
    ['soon', /invalid duration "soon": use units like 90s/],
    ['10 m', /invalid duration "10 m"/],
    ['5d', /invalid duration "5d"/],
    ['0s', /invalid duration "0s": must be longer than 0/],
    ['', /invalid duration ""/],
  ])('%j is refused, naming the value', (text, message) => {
    expect(() => parseDuration(text)).toThrow(message);
  });
});
