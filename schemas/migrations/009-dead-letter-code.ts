import type { Migration } from './migration.js'

/**
 * The stable code of each dead letter (`GW_DL_*`, schemas/dead-letter.ts), so dead letters can be counted
 * by cause. Rows written before it read as '' (no code was recorded then). Numbered 9: main has
 * 008-customer-tiers.
 */
export const m009DeadLetterCode: Migration = {
  version: 9,
  name: 'dead_letter_code',
  statements: [
    `ALTER TABLE {{db}}.dead_letters ADD COLUMN IF NOT EXISTS code LowCardinality(String) DEFAULT '' AFTER origin`,
  ],
}
