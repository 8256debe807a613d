import { createHash, timingSafeEqual } from 'node:crypto'

const digest = (s: string) => createHash('sha256').update(s).digest()

/** True when the `Authorization` header carries `Bearer <token>`; constant-time in the token. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '')
  if (!m?.[1]) return false
  return timingSafeEqual(digest(m[1].trim()), digest(token))
}
