#!/usr/bin/env node
// `npx labelrun …`: the admin CLI. Runs the TypeScript source through tsx.
import { register } from "tsx/esm/api";

register();
await import("./cli.ts");
