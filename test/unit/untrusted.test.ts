import { describe, expect, it } from 'vitest'
import { escapeHtml, htmlLines } from '../../src/untrusted.js'
import { shown } from '../support/html.ts'

/** What HTML or Markdown may act on in a line of text: it starts tags, references, emphasis, code, links, tables, math, escapes. */
const ACTIVE = /[\r\n<>&"'`*_[\]\\|~!#$]/

const NASTY = [
  'a\n\nb',
  'a\r\rb',
  'a\r\n\r\nb',
  ' \t\n',
  '# h\n- li\n> q\n    code\n```js\n~~~\n1. x\n===\n---',
  '<img src=x onerror=alert(1)>&amp;"\'',
  '*b* _i_ `c` [l](u) ![i](u) <http://x> | t | \\* ~~s~~ :+1: @user #1'
]

describe('htmlLines', () => {
  it.each(NASTY)('keeps %j on one line, with nothing HTML or Markdown acts on, and shows it as it is', (text) => {
    const html = htmlLines(text)
    expect(html).not.toMatch(/[\r\n]/)
    expect(html.replace(/<br>|&#\d+;/g, '')).not.toMatch(ACTIVE)
    expect(shown(html)).toBe(text.replace(/\r\n?/g, '\n'))
  })
})

describe('escapeHtml', () => {
  it.each(NASTY)('keeps %j on one line with its line endings as references, for an attribute', (text) => {
    const html = escapeHtml(text)
    expect(html).not.toMatch(/[\r\n<>"'&](?!#\d+;)/)
    expect(html.replace(/&#\d+;/g, '')).not.toMatch(ACTIVE)
    expect(shown(html)).toBe(text)
  })
})
