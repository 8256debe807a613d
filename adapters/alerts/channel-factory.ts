import type { Logger } from 'pino'
import { channelNames } from '../../core/alerts/channel-name.js'
import type { AlertSender } from '../../core/alerts/sender.js'
import { GatewardenError } from '../../core/errors.js'
import type { AlertChannel } from '../../schemas/policy.js'
import { EmailSender } from './email-sender.js'
import type { HttpDeliveryOptions } from './http-delivery.js'
import { PAGERDUTY_EVENTS_URL, PagerDutySender } from './pagerduty-sender.js'
import { SlackSender } from './slack-sender.js'
import { WebhookSender } from './webhook-sender.js'

/** What the service hands the factory. */
export interface SenderDeps {
  /** Looks a secret up by environment variable name (the service passes `(n) => process.env[n]`). */
  secrets: (envName: string) => string | undefined
  log: Logger
  /** Per attempt; default 10 s. */
  timeoutMs?: number
  fetch?: typeof fetch
  now?: () => number
}

export const DEFAULT_SEND_TIMEOUT_MS = 10_000

/**
 * One sender per configured channel, named as `channelNames` names them. Fails at start, with the channel
 * and the variable named, when a secret is missing or a name is taken twice (GW_CONFIG_INVALID).
 */
export function createAlertSenders(channels: readonly AlertChannel[], deps: SenderDeps): AlertSender[] {
  const names = channelNames(channels)
  const dup = names.find((n, i) => names.indexOf(n) !== i)
  if (dup !== undefined) {
    throw new GatewardenError(
      'GW_CONFIG_INVALID',
      `alerts.channels: two channels are named "${dup}"; give each a distinct name`,
      false,
    )
  }
  return channels.map((c, i) => createAlertSender(c, names[i]!, i, deps))
}

/** The sender of one channel; `index` is its position in `alerts.channels`, for messages. */
export function createAlertSender(
  c: AlertChannel,
  name: string,
  index: number,
  deps: SenderDeps,
): AlertSender {
  const where = `alerts.channels[${index}] (${c.type} "${name}")`
  const secret = (env: string, what: string): string => {
    const v = deps.secrets(env)
    if (v === undefined || v === '') {
      throw new GatewardenError(
        'GW_CONFIG_INVALID',
        `${where}: environment variable ${env} is not set; it must hold the ${what}`,
        false,
      )
    }
    return v
  }
  const timeoutMs = deps.timeoutMs ?? DEFAULT_SEND_TIMEOUT_MS
  const http: HttpDeliveryOptions = {
    timeoutMs,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    ...(deps.now ? { now: deps.now } : {}),
  }
  const log = deps.log.child({ component: 'alert-sender', channel: name, channel_type: c.type })
  switch (c.type) {
    case 'email': {
      const url = URL.canParse(c.smtp_url) ? new URL(c.smtp_url) : undefined
      if (!url || !url.hostname)
        throw new GatewardenError(
          'GW_CONFIG_INVALID',
          `${where}: smtp_url is not a valid smtp:// or smtps:// URL`,
          false,
        )
      if (url.password) {
        throw new GatewardenError(
          'GW_CONFIG_INVALID',
          `${where}: smtp_url contains a password; remove it and name an environment variable in smtp_password_env`,
          false,
        )
      }
      const password = c.smtp_password_env ? secret(c.smtp_password_env, 'SMTP password') : undefined
      if (password !== undefined && !url.username) {
        throw new GatewardenError(
          'GW_CONFIG_INVALID',
          `${where}: smtp_password_env is set but smtp_url names no user (smtp://user@host:587)`,
          false,
        )
      }
      return new EmailSender(name, { smtpUrl: c.smtp_url, password, from: c.from, to: c.to, timeoutMs }, log)
    }
    case 'slack': {
      const url = c.webhook_url_env ? secret(c.webhook_url_env, 'Slack incoming-webhook URL') : c.webhook_url
      if (!url || !URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
        // the value itself is a secret: never echo it
        const from = c.webhook_url_env ? `the value of ${c.webhook_url_env}` : 'webhook_url'
        throw new GatewardenError('GW_CONFIG_INVALID', `${where}: ${from} is not an http(s) URL`, false)
      }
      return new SlackSender(name, url, http, log)
    }
    case 'webhook': {
      const key = c.secret_env ? secret(c.secret_env, 'HMAC signing secret') : undefined
      if (!key) log.warn({ channel: name }, 'webhook channel has no secret_env: deliveries are not signed')
      return new WebhookSender(name, c.url, key, http, log)
    }
    case 'pagerduty': {
      const routingKey = secret(c.routing_key_env, 'PagerDuty routing (integration) key')
      return new PagerDutySender(name, routingKey, c.events_url || PAGERDUTY_EVENTS_URL, http, log)
    }
  }
}
