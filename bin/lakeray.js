#!/usr/bin/env -S node --max-semi-space-size=64
// Launcher for the `lakeray` CLI. The sources are TypeScript run through tsx (no build
// step), so register tsx's ESM loader, then load src/cli/index.ts. Paths are resolved from
// this file's real location: npm installs bin/ as a symlink in node_modules/.bin.
// The shebang raises V8's young generation to 64 MB semi-spaces (the default stops at 16 MB):
// the server allocates a few KB per task and keeps batch submits alive across collections, and
// the larger young generation measured ~10% more task throughput (bench/REPORT.md, throughput).
import { realpathSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { register } from 'tsx/esm/api';

register();

const here = realpathSync(fileURLToPath(import.meta.url));
const entry = new URL('../src/cli/index.ts', pathToFileURL(here));
const { main } = await import(entry.href);
const code = await main(process.argv.slice(2));
// Exit explicitly: keep-alive sockets or timers left by a verb must not hold the process.
process.exit(code);
