// Types for npm `bloomfilter` (jasondavies/bloomfilter.js, ESM, no types of its own): the part we use.
declare module 'bloomfilter' {
  export class BloomFilter {
    /** `m` bits (rounded up to a multiple of 32), `k` hash functions. */
    constructor(m: number, k: number)
    readonly m: number
    readonly k: number
    add(v: string): void
    test(v: string): boolean
  }
}
