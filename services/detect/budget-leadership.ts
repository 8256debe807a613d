import type { LeaderElection } from '../../core/ports/leader-election.js'

/** What one election round changed for this instance. */
export type LeadershipChange = 'gained' | 'lost' | null

/**
 * This instance's side of the budget-leader election (heartbeats in the store, `LeaderElection` port):
 * the leader alone judges budgets, so N instances open and notify each budget alert once.
 * A failed round (store down) keeps the role it had: nobody can store budget alerts meanwhile anyway.
 */
export class BudgetLeadership {
  #leader = false
  #leaderId = ''

  constructor(
    private readonly election: LeaderElection,
    readonly instance: string,
    /** A leader whose last beat is older than this is replaced (3 ticks). */
    private readonly withinMs: number,
  ) {}

  /** True while this instance judges the budgets. */
  get isLeader(): boolean {
    return this.#leader
  }

  /** The leader's id as of the last round ('' before the first). */
  get leaderId(): string {
    return this.#leaderId
  }

  /** Gives the role up until the next round (a new leader that could not adopt the open alerts). */
  resign(): void {
    this.#leader = false
  }

  /** Beats, reads the leader; rejects when the store does (the role is then unchanged). */
  async elect(now: number): Promise<LeadershipChange> {
    const leader = await this.election.beatAndElect(this.instance, now, this.withinMs)
    this.#leaderId = leader
    const was = this.#leader
    this.#leader = leader === this.instance
    if (this.#leader === was) return null
    return this.#leader ? 'gained' : 'lost'
  }
}
