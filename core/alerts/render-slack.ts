import type { Alert, Notification } from './alert.js'
import { alertLinks, formatValue, headline, iso, oneLine, scopeLabel, truncate } from './render-text.js'

/** The Block Kit subset we send (https://api.slack.com/reference/block-kit/blocks). */
export type SlackText =
  { type: 'plain_text'; text: string; emoji?: boolean } | { type: 'mrkdwn'; text: string }
export type SlackBlock =
  | { type: 'header'; text: { type: 'plain_text'; text: string; emoji?: boolean } }
  | { type: 'section'; text: SlackText; fields?: SlackText[] }
  | { type: 'context'; elements: SlackText[] }
  | { type: 'divider' }

/** An incoming-webhook body: `text` is the notification fallback, `blocks` the message. */
export interface SlackMessage {
  text: string
  blocks: SlackBlock[]
}

/**
 * Alerts listed in one message; each takes up to two blocks and Slack allows 50 blocks per message.
 * The rest are counted ("and N more").
 */
export const SLACK_MAX_ALERTS = 10
/** Slack's limits: header text 150, section text 3000, field text 2000, fields per section 10. */
const HEADER_MAX = 150
const SECTION_MAX = 3000
const FIELD_MAX = 2000
const FIELDS_MAX = 10

/** Escapes the three characters Slack's mrkdwn reserves for links and mentions. */
export function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** `<url|text>`: the URL may not carry `<`, `>` or `|`. */
function link(href: string, text: string): string {
  return `<${href.replace(/[<>|]/g, (c) => encodeURIComponent(c))}|${escapeMrkdwn(text)}>`
}

function alertBlocks(a: Alert): SlackBlock[] {
  const when =
    a.resolved_at === null ? `since ${iso(a.started_at)}` : `${iso(a.started_at)} to ${iso(a.resolved_at)}`
  const text = truncate(
    `*${escapeMrkdwn(oneLine(a.summary))}*\n` +
      `${escapeMrkdwn(scopeLabel(a.scope))} | ${a.type} | ${a.severity} | ${a.state} ${when}`,
    SECTION_MAX,
  )
  const fields = Object.entries(a.details)
    .slice(0, FIELDS_MAX)
    .map(([k, v]): SlackText => ({
      type: 'mrkdwn',
      text: truncate(`*${escapeMrkdwn(oneLine(k))}*\n${escapeMrkdwn(oneLine(formatValue(v)))}`, FIELD_MAX),
    }))
  const section: SlackBlock =
    fields.length > 0
      ? { type: 'section', text: { type: 'mrkdwn', text }, fields }
      : { type: 'section', text: { type: 'mrkdwn', text } }
  const links = alertLinks(a)
  if (links.length === 0) return [section]
  return [
    section,
    {
      type: 'context',
      elements: [{ type: 'mrkdwn', text: links.map((l) => link(l.href, l.text)).join(' | ') }],
    },
  ]
}

/** A Block Kit message: header, a section (summary and key details) and links per alert, capped at `maxAlerts`. */
export function renderSlack(n: Notification, maxAlerts = SLACK_MAX_ALERTS): SlackMessage {
  const title = oneLine(headline(n))
  const shown = n.alerts.slice(0, maxAlerts)
  const more = n.alerts.length - shown.length
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(title, HEADER_MAX), emoji: false } },
  ]
  for (const a of shown) blocks.push(...alertBlocks(a))
  if (more > 0)
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `and ${more} more alert${more === 1 ? '' : 's'}` }],
    })
  return { text: truncate(escapeMrkdwn(title), SECTION_MAX), blocks }
}
