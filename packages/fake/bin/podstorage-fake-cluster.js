#!/usr/bin/env node
// The bin is this committed file rather than dist/bin.js, so that a workspace install before the first
// build can link it (pnpm warns "Failed to create bin" for a target that does not exist yet).
import '../dist/bin.js';
