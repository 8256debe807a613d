import { simpleParser, type ParsedMail } from 'mailparser'
import type { AddressInfo } from 'node:net'
import { SMTPServer, type SMTPServerAddress } from 'smtp-server'

/** A message as the SMTP server took it, parsed back with mailparser. */
export interface ReceivedMail {
  envelope: { from: string; to: string[] }
  /** The user that authenticated for it, if any. */
  user: string | undefined
  mail: ParsedMail
}

export interface SmtpSinkOptions {
  /** 0 = any free port. */
  port?: number
  /** When set, AUTH must match these (authentication stays optional for clients that do not log in). */
  auth?: { user: string; pass: string }
  /** Answer a login attempt with this instead (a server that quotes the credentials back). */
  authReply?: (user: string | undefined, pass: string | undefined) => { code: number; message: string }
  /** Refuse a recipient with this reply (e.g. 450 temporary, 550 permanent). */
  rejectRcpt?: (address: SMTPServerAddress) => { code: number; message: string } | undefined
}

/** A real SMTP server (npm smtp-server) on 127.0.0.1, plain text, that keeps what it receives. */
export interface SmtpSink {
  port: number
  received: ReceivedMail[]
  close(): Promise<void>
}

export async function startSmtpSink(
  opts: SmtpSinkOptions = {},
  received: ReceivedMail[] = [],
): Promise<SmtpSink> {
  const server = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    closeTimeout: 100,
    onAuth(auth, _session, cb) {
      const reply = opts.authReply?.(auth.username ?? undefined, auth.password ?? undefined)
      if (reply) {
        cb(Object.assign(new Error(reply.message), { responseCode: reply.code }))
        return
      }
      if (!opts.auth || (auth.username === opts.auth.user && auth.password === opts.auth.pass)) {
        cb(null, { user: auth.username })
        return
      }
      cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }))
    },
    onRcptTo(address, _session, cb) {
      const r = opts.rejectRcpt?.(address)
      if (r) cb(Object.assign(new Error(r.message), { responseCode: r.code }))
      else cb()
    },
    onData(stream, session, cb) {
      simpleParser(stream)
        .then((mail) => {
          const from = session.envelope.mailFrom
          received.push({
            envelope: { from: from ? from.address : '', to: session.envelope.rcptTo.map((r) => r.address) },
            user: typeof session.user === 'string' ? session.user : undefined,
            mail,
          })
          cb()
        })
        .catch((err: Error) => cb(err))
    },
  })
  await new Promise<void>((resolve, reject) => {
    const s = server.listen(opts.port ?? 0, '127.0.0.1', () => resolve())
    s.once('error', reject)
  })
  const port = (server.server.address() as AddressInfo).port
  return {
    port,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
