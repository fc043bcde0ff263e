// The candidates of each scenario, in the order the report lists them (shared by the scenarios and the
// child processes that run them).

/** Decode candidates. */
export const DECODE_CANDIDATES = [
  'raw undici + split + JSON.parse',
  'client-node Watch',
  'podstorage undici HTTP',
  'podstorage undici WebSocket',
  'podstorage client-node',
] as const;

export type DecodeCandidate = (typeof DECODE_CANDIDATES)[number];

/** Many-waits candidates. */
export const WAIT_CANDIDATES = [
  'podstorage (undici)',
  'client-node informer',
  'one watch per wait',
  'podstorage (undici, HTTP/2 over TLS)',
  'client-node informer (TLS)',
] as const;

/** The many-waits candidates that run against the fake API server over TLS (the rest: plain HTTP). */
export const TLS_WAIT_CANDIDATES: readonly WaitCandidate[] = [
  'podstorage (undici, HTTP/2 over TLS)',
  'client-node informer (TLS)',
];

export type WaitCandidate = (typeof WAIT_CANDIDATES)[number];

/** Store-memory candidates. */
export const STORE_CANDIDATES = [
  'podstorage namespace watch',
  'client-node informer',
  'whole parsed pods (Map)',
] as const;

export type StoreCandidate = (typeof STORE_CANDIDATES)[number];
