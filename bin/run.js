#!/usr/bin/env node
// Built CLI entry point: commands are loaded from dist/ (compiled by `npm run build`, run by `prepare`).
import { execute } from '@oclif/core';

await execute({ dir: import.meta.url });
