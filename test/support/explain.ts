/** A process's exit code and both its streams: the message of an assertion on its exit code, so a failure shows why. */
export function explain(result: { code: number | null; stdout: string; stderr: string }): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`
}
