// Filled in by the client-node transport work.
export {};
