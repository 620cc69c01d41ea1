import { VERSION } from './version.js'

/** What `--help` prints: it holds no other module, so that the command can answer it without loading the engine. */
const USAGE = `Usage: flow-dispatch <prefect|kestra> [options]

Starts a Prefect flow run or a Kestra execution, waits for it, and exits with
its outcome. Options are the GitHub Action's inputs (see the README):

  flow-dispatch prefect --url https://prefect.example.com/api --deployment etl/nightly \\
    --param date=2026-11-22 --wait
  flow-dispatch kestra --url https://kestra.example.com --namespace dev --flow inputs_demo \\
    --param user=ci --label team=data --timeout 30m

  --param name=value    a parameter (Prefect) or input (Kestra); the value is read as YAML,
                        so 3 is a number and true a boolean: quote it to keep a string
  --label key=value     a label; --tag name (Prefect), --file input=path (Kestra)
  --<input> value       any input of the action, e.g. --timeout 30m, --fail-on FAILED
  --run-id ID           follow a run that exists (made by anyone) instead of creating one
  --wait / --no-wait    also --logs, --summary, --dry-run, --enforce-parameter-schema
  --json                print the outputs as one JSON object on stdout, the log on stderr
  --verbose             print debug lines
  --help, --version

Credentials may come from the environment instead: PREFECT_API_URL, PREFECT_API_KEY,
PREFECT_API_AUTH_STRING; KESTRA_URL, KESTRA_API_TOKEN, KESTRA_USERNAME, KESTRA_PASSWORD.

Exit codes: 0 success (also triggered and dry-run), 1 the run failed or was cancelled,
2 bad input (found before any request, or refused by the orchestrator as invalid),
3 timeout, 4 the orchestrator could not be reached or read.`

export function answer(request: 'help' | 'version'): string {
  return request === 'help' ? `${USAGE}\n` : `${VERSION}\n`
}

/** `--help` or `--version` given alone: the answer, before anything else is loaded. */
export function quickAnswer(argv: readonly string[]): string | undefined {
  if (argv.length !== 1) return undefined
  if (argv[0] === '--help' || argv[0] === '-h') return answer('help')
  if (argv[0] === '--version') return answer('version')
  return undefined
}
