/**
 * Text from the orchestrator reaches the log through `host.info`, which no text can make run a command, and the summary only through these.
 *
 * GitHub renders the summary as Markdown, in which our HTML is one raw HTML
 * block: a blank line ends it, and whatever follows is read as Markdown
 * (headings, lists, code blocks). So no text leaves here with a line ending in
 * it, and nothing in it can start a line, where Markdown's block syntax lives.
 * Every character that HTML acts on, or that opens or closes Markdown's inline
 * syntax (emphasis, code, links, images, tables, strikethrough, math, escapes,
 * entities), leaves as a character reference: the text renders as itself,
 * whatever it holds.
 */

/** HTML's and inline Markdown's characters, and the three line endings Markdown knows (CR, LF, CRLF). */
const ACTIVE = /[!"#$&'*<>[\\\]_`|~\r\n]/g

/** For an attribute value, or anywhere text must stay text: line endings become character references too. */
export function escapeHtml(text: string): string {
  return text.replace(ACTIVE, (c) => `&#${c.charCodeAt(0)};`)
}

/** For an element's content (a cell, a paragraph, a `<pre>`): each line of the text on a line of its own. */
export function htmlLines(text: string): string {
  return text
    .split(/\r\n|\r|\n/)
    .map(escapeHtml)
    .join('<br>')
}
