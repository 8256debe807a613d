/**
 * Rendering of a notification for each channel type: pure functions of the notification, no I/O.
 * One file per channel format; this module is their single import point.
 */
export {
  renderEmail,
  escapeHtml,
  EMAIL_MAX_ALERTS,
  EMAIL_SUBJECT_MAX,
  type RenderedEmail,
} from './render-email.js'
export {
  renderSlack,
  escapeMrkdwn,
  SLACK_MAX_ALERTS,
  type SlackBlock,
  type SlackMessage,
  type SlackText,
} from './render-slack.js'
export { renderWebhookBody, WebhookBody, WebhookAlert } from './webhook-body.js'
export {
  renderPagerDutyEvents,
  pagerDutyDedupKey,
  PD_SUMMARY_MAX,
  type PagerDutyEvent,
} from './render-pagerduty.js'
export { headline } from './render-text.js'
