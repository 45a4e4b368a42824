#!/usr/bin/env node
// Development entry point: runs commands from src/ through tsx (needs typescript <= 6 and tsx <= 4.23.14).
import { execute } from '@oclif/core';

await execute({ development: true, dir: import.meta.url });
