import { BloomFilter } from 'bloomfilter'

/**
 * What the writer's duplicate lookup must still ask the store, when one process is the store's only
 * writer (the embedded engine: one data directory per process).
 *
 * Every id about to be inserted is added here first, filed by its event time in buckets of `bucketMs`:
 * a Bloom filter per bucket (chained segments as it fills), so "not here" is certain and "here" may be a
 * false positive. The lookup asks for the ids stored with `ts` in a window (a duplicate carries its
 * original ts); when every row the store can hold in that window went through `add`, the ids this
 * filter has never seen are new, and only the others (true repeats and the rare false positive) go to the
 * store. Rows written before this process started are not here: `cover(t)` says the store held nothing
 * after `t` when the filter began (the store's max `ts`), so a window reaching back to `t` asks the store
 * for all its ids, as does one reaching a bucket evicted to bound memory, or one wider than
 * `maxWindowBuckets` (a replay's batch spanning days).
 *
 * Pure and synchronous: the adapter reads the store's max `ts` and runs the lookups.
 */
export interface StoredIdsOptions {
  /** Width of a bucket of event time, ms. */
  bucketMs: number
  /** Bits over all buckets; past it the oldest buckets are evicted (and windows reaching them ask the store). */
  maxBits: number
  /** Buckets kept at most (old events scattered over many days each open one). */
  maxBuckets: number
  /** A window over more buckets than this asks the store for every id. */
  maxWindowBuckets: number
  /** Bloom bits per id at a segment's capacity (24: false positives ~1e-5 per full segment). */
  bitsPerId: number
}

export const STORED_IDS_DEFAULTS: StoredIdsOptions = {
  bucketMs: 5 * 60_000,
  maxBits: 32 * 8 * 1024 * 1024,
  maxBuckets: 2_048,
  maxWindowBuckets: 48,
  bitsPerId: 24,
}

/** Slack between the store's max ts and the first covered window: DateTime64(3) keeps whole ms. */
const COVER_SLACK_MS = 1_000
const MIN_SEGMENT_IDS = 4_096
const MAX_SEGMENT_IDS = 1 << 22

interface Segment {
  filter: BloomFilter
  capacity: number
  count: number
}

interface Bucket {
  segments: Segment[]
}

const idsIn = (b: Bucket | undefined): number => b?.segments.reduce((n, s) => n + s.count, 0) ?? 0

/** How a lookup went: ask the store for every id, for some, or for none. */
export type Candidates = { kind: 'uncovered' } | { kind: 'covered'; ids: string[] }

export class StoredIds {
  readonly #opts: StoredIdsOptions
  readonly #k: number
  readonly #buckets = new Map<number, Bucket>()
  #bits = 0
  #maxKey = -Infinity
  /** Undefined until `cover`: then rows with ts <= this may be in the store without being here. */
  #coveredAfter: number | undefined
  /** Rows with ts below this may be in the store without being here (buckets evicted). */
  #evictedBelow = -Infinity

  constructor(opts: Partial<StoredIdsOptions> = {}) {
    this.#opts = { ...STORED_IDS_DEFAULTS, ...opts }
    this.#k = Math.max(1, Math.round(this.#opts.bitsPerId * Math.LN2))
  }

  /** Whether `cover` was called: until then every lookup asks the store. */
  get started(): boolean {
    return this.#coveredAfter !== undefined
  }

  /** The store held no row with ts after `storedUpTo` (epoch ms) when this filter began. */
  cover(storedUpTo: number): void {
    this.#coveredAfter = Math.max(this.#coveredAfter ?? -Infinity, storedUpTo)
  }

  /** Buckets, memory and coverage, for tests and diagnostics. */
  stats(): { buckets: number; bits: number; coveredAfter: number | undefined; evictedBelow: number } {
    return {
      buckets: this.#buckets.size,
      bits: this.#bits,
      coveredAfter: this.#coveredAfter,
      evictedBelow: this.#evictedBelow,
    }
  }

  /** Files `id` (of an event with time `ts`) as possibly stored. Call before the insert that may store it. */
  add(id: string, ts: number): void {
    // a window holding this ts would ask the store anyway
    if ((this.#coveredAfter !== undefined && ts <= this.#coveredAfter) || ts < this.#evictedBelow) return
    const key = Math.floor(ts / this.#opts.bucketMs)
    let bucket = this.#buckets.get(key)
    if (!bucket) {
      bucket = { segments: [] }
      this.#buckets.set(key, bucket)
    }
    let seg = bucket.segments[bucket.segments.length - 1]
    if (!seg || seg.count >= seg.capacity) {
      seg = this.#segment(key, bucket)
      bucket.segments.push(seg)
      if (key > this.#maxKey) this.#maxKey = key
      this.#evict()
      // the eviction may have taken this very bucket (an old event's): then it is not needed
      if (this.#buckets.get(key) !== bucket) return
    }
    seg.filter.add(id)
    seg.count++
  }

  /**
   * Which of `ids` may have a stored row with ts in [minTs, maxTs]: `uncovered` when the store must be
   * asked for all of them, else the ones to ask about (often none).
   */
  candidates(ids: readonly string[], minTs: number, maxTs: number): Candidates {
    if (this.#coveredAfter === undefined) return { kind: 'uncovered' }
    if (!(minTs > this.#coveredAfter + COVER_SLACK_MS) || minTs < this.#evictedBelow)
      return { kind: 'uncovered' }
    const lo = Math.floor(minTs / this.#opts.bucketMs)
    const hi = Math.floor(maxTs / this.#opts.bucketMs)
    if (hi - lo + 1 > this.#opts.maxWindowBuckets) return { kind: 'uncovered' }
    const filters: BloomFilter[] = []
    for (let key = lo; key <= hi; key++) {
      const b = this.#buckets.get(key)
      if (b) for (const s of b.segments) filters.push(s.filter)
    }
    const maybe: string[] = []
    if (filters.length === 0) return { kind: 'covered', ids: maybe }
    for (const id of ids) {
      for (const f of filters) {
        if (f.test(id)) {
          maybe.push(id)
          break
        }
      }
    }
    return { kind: 'covered', ids: maybe }
  }

  /**
   * A new segment for `bucket`: the newest bucket's first segment is sized from the bucket before it, or
   * else the newest one (steady traffic fills one segment per bucket), an old event's bucket starts small, and each
   * further segment doubles.
   */
  #segment(key: number, bucket: Bucket): Segment {
    const last = bucket.segments[bucket.segments.length - 1]
    let ids = MIN_SEGMENT_IDS
    if (last) ids = last.capacity * 2
    else if (key >= this.#maxKey) {
      const prev = idsIn(this.#buckets.get(key - 1) ?? this.#buckets.get(this.#maxKey))
      ids = Math.ceil(prev * 1.25)
    }
    const capacity = Math.min(MAX_SEGMENT_IDS, Math.max(MIN_SEGMENT_IDS, ids))
    const filter = new BloomFilter(capacity * this.#opts.bitsPerId, this.#k)
    this.#bits += filter.m
    return { filter, capacity, count: 0 }
  }

  /** Drops the oldest buckets while over the memory or bucket bound. */
  #evict(): void {
    while (
      this.#buckets.size > 1 &&
      (this.#bits > this.#opts.maxBits || this.#buckets.size > this.#opts.maxBuckets)
    ) {
      let oldest = Infinity
      for (const key of this.#buckets.keys()) if (key < oldest) oldest = key
      const b = this.#buckets.get(oldest)!
      for (const s of b.segments) this.#bits -= s.filter.m
      this.#buckets.delete(oldest)
      this.#evictedBelow = Math.max(this.#evictedBelow, (oldest + 1) * this.#opts.bucketMs)
    }
  }
}
