import nodemailer, { type NodemailerError, type SMTPSentMessageInfo, type Transporter } from 'nodemailer'
import type { Logger } from 'pino'
import type { Notification } from '../../core/alerts/alert.js'
import { AlertDeliveryError } from '../../core/alerts/delivery-error.js'
import { renderEmail } from '../../core/alerts/render-email.js'
import { delivered, type AlertSender, type DeliveryReceipt } from '../../core/alerts/sender.js'
import type { AttemptOutcome } from '../../core/retry.js'
import { redactError, redactor, type Redactor } from './redact.js'

/** An email channel with its secret resolved (the password comes from the caller, never from the env here). */
export interface EmailChannelOptions {
  /** `smtp://user@host:587` or `smtps://user@host:465`, without a password (query options pass through). */
  smtpUrl: string
  password: string | undefined
  from: string
  to: string[]
  /** Per attempt: connect, greeting, each command and the whole send. */
  timeoutMs: number
}

/** Errors without an SMTP reply that a later attempt may not meet: the server or the network was away. */
const TRANSIENT_CODES = new Set([
  'ECONNECTION',
  'ESOCKET',
  'ETIMEDOUT',
  'EDNS',
  'EABORT',
  'EPROXY',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
])

/**
 * SMTP outcome: a reply code decides (4xx temporary = retryable, 5xx permanent = failure; nodemailer's own
 * `permanent` flag wins, which makes 503 "bad sequence" retryable); without a reply, connection-level
 * errors are retryable and the rest (bad envelope, no credentials, TLS) fail.
 */
export function isRetryableSmtpError(err: NodemailerError): boolean {
  if (typeof err.permanent === 'boolean') return !err.permanent
  if (typeof err.responseCode === 'number') return err.responseCode < 500
  return typeof err.code === 'string' && TRANSIENT_CODES.has(err.code)
}

/**
 * Email through an SMTP server with nodemailer (one connection per message, so a restarted server is
 * simply reconnected): subject, plain text and HTML from `renderEmail`, `Message-ID` derived from the
 * notification id (mail clients thread or dedupe a retried message).
 */
export class EmailSender implements AlertSender {
  readonly type = 'email' as const
  private readonly transport: Transporter<SMTPSentMessageInfo>
  private readonly redact: Redactor
  private readonly label: string
  private readonly domain: string

  constructor(
    readonly channel: string,
    private readonly opts: EmailChannelOptions,
    private readonly log: Logger,
  ) {
    const url = new URL(opts.smtpUrl)
    const user = decodeURIComponent(url.username)
    url.username = ''
    url.password = ''
    this.label = `email channel "${channel}" via ${url.protocol}//${url.host}`
    this.redact = redactor([opts.password])
    this.domain = /@([A-Za-z0-9.-]+)>?\s*$/.exec(opts.from)?.[1] ?? 'gatewarden.invalid'
    this.transport = nodemailer.createTransport({
      url: url.toString(),
      ...(user ? { auth: { user, pass: opts.password ?? '' } } : {}),
      connectionTimeout: opts.timeoutMs,
      greetingTimeout: opts.timeoutMs,
      socketTimeout: opts.timeoutMs,
      dnsTimeout: opts.timeoutMs,
      logger: false,
      disableFileAccess: true,
      disableUrlAccess: true,
    })
  }

  async send(n: Notification): Promise<AttemptOutcome<DeliveryReceipt>> {
    const mail = renderEmail(n)
    let info: SMTPSentMessageInfo
    try {
      info = await this.transport.sendMail({
        from: this.opts.from,
        to: this.opts.to,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        messageId: `<${n.id.replace(/[^A-Za-z0-9._-]/g, '_')}@${this.domain}>`,
        headers: { 'X-Gatewarden-Notification': n.id },
        // the transport timeouts bound each step; this bounds the whole attempt
        signal: AbortSignal.timeout(this.opts.timeoutMs * 3),
      })
    } catch (e) {
      const err = e as NodemailerError
      const retryable = isRetryableSmtpError(err)
      const status = typeof err.responseCode === 'number' ? err.responseCode : null
      const code = typeof err.code === 'string' ? ` (${err.code})` : ''
      const error = new AlertDeliveryError(
        `${this.label}: ${this.redact(err.message)}${code}`,
        this.channel,
        retryable,
        status,
        {
          cause: redactError(err, this.redact),
        },
      )
      return retryable ? { kind: 'retryable', error } : { kind: 'failure', error }
    }
    if (info.rejected.length > 0) {
      this.log.warn(
        { channel: this.channel, notification: n.id, rejected: info.rejected.length },
        'some alert recipients rejected',
      )
    }
    this.log.debug(
      { channel: this.channel, notification: n.id, accepted: info.accepted.length },
      'alert delivered',
    )
    const response = this.redact(String(info.response ?? ''))
    const status = Number(/^\d{3}/.exec(response)?.[0] ?? 250)
    return delivered(this, n, status, response.slice(0, 200))
  }

  shutdown(): Promise<void> {
    this.transport.close()
    return Promise.resolve()
  }
}
