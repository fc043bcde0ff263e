// Filled in by the undici transport work.
export {};
