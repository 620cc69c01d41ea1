/** What a browser shows for our HTML: `<br>` as a line break and character references as their characters. */
export function shown(html: string): string {
  return html.replace(/<br>/g, '\n').replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)))
}
