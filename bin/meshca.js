#!/usr/bin/env node
// The meshca command. `npm ci` (or `npm install`) builds dist/ through the `prepare` script.
import { main } from '../dist/cli/main.js';

await main();
