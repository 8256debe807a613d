/**
 * Elects the budget leader among the instances sharing a store (heartbeats).
 * MUST: every instance calling within `withinMs` of each other gets the same answer; a leader that
 * stops beating is replaced once its last beat is older than `withinMs`.
 */
export interface LeaderElection {
  /** Records `instance`'s heartbeat at `now` and returns the leader's instance id. */
  beatAndElect(instance: string, now: number, withinMs: number): Promise<string>
}
