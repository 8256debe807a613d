import pino, { type Logger } from 'pino'

/** Paths pino redacts from every log line: credentials and prompt text. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'auth_token',
  '*.auth_token',
  '*.*.auth_token',
  'password',
  '*.password',
  '*.clickhouse_password',
  '*.*.clickhouse_password',
  'master_key',
  '*.master_key',
  'request_text',
  'response_text',
  '*.request_text',
  '*.response_text',
  'messages',
  '*.messages',
]

/** The root logger: JSON lines on stdout (fd 1), secrets redacted. */
export function createLogger(
  level: string,
  destination: pino.DestinationStream = pino.destination(1),
): Logger {
  return pino(
    {
      level,
      base: { service: 'gatewarden' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  )
}
