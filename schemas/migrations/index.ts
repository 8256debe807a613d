import { m001 } from './001-requests.js'
import { m002 } from './002-dead-letters.js'
import { m003 } from './003-spend-rollups.js'
import { m004 } from './004-alerts.js'
import { m005 } from './005-rules.js'
import { m006 } from './006-budgets.js'
import { m007 } from './007-received-at-index.js'
import { m008 } from './008-customer-tiers.js'
import { m009DeadLetterCode } from './009-dead-letter-code.js'
import { m011CustomerDayRollup } from './011-customer-day-rollup.js'
import type { Migration } from './migration.js'

export type { Migration } from './migration.js'

/** Every migration, in order. Append only: a shipped migration is never edited. */
export const MIGRATIONS: readonly Migration[] = [
  m001,
  m002,
  m003,
  m004,
  m005,
  m006,
  m007,
  m008,
  m009DeadLetterCode,
  m011CustomerDayRollup,
]
