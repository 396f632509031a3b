// Fails when src/api/schema.d.ts is not what openapi.json generates.
// Run `npm run gen:api` to bring it back in step.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const spec = join(root, "openapi.json");
const committed = join(root, "src", "api", "schema.d.ts");
const cli = join(root, "node_modules", "openapi-typescript", "bin", "cli.js");

const dir = mkdtempSync(join(tmpdir(), "wherewhen-api-"));
const fresh = join(dir, "schema.d.ts");
try {
  const run = spawnSync(process.execPath, [cli, spec, "--output", fresh], {
    cwd: root,
    encoding: "utf8",
  });
  if (run.status !== 0) {
    process.stderr.write(run.stdout + run.stderr);
    console.error("check:api: could not generate types from openapi.json");
    process.exit(2);
  }
  if (!existsSync(committed)) {
    console.error(`check:api: ${relative(root, committed)} is missing; run \`npm run gen:api\``);
    process.exit(1);
  }
  const want = readFileSync(fresh, "utf8").split("\n");
  const have = readFileSync(committed, "utf8").split("\n");
  const n = Math.max(want.length, have.length);
  for (let i = 0; i < n; i++) {
    if (want[i] !== have[i]) {
      console.error(
        `check:api: ${relative(root, committed)} is out of date with openapi.json ` +
          `(first difference at line ${i + 1}).\n` +
          `  generated: ${JSON.stringify(want[i] ?? "<end of file>")}\n` +
          `  committed: ${JSON.stringify(have[i] ?? "<end of file>")}\n` +
          "Run `npm run gen:api` and commit the result.",
      );
      process.exit(1);
    }
  }
  console.log(`check:api: ${relative(root, committed)} matches openapi.json`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
