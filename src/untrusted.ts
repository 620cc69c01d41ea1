/** Text from the orchestrator reaches the log only through `host.untrusted`, and the summary only through this. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`|\\*_[\]]/g, (c) => `&#${c.charCodeAt(0)};`)
}
