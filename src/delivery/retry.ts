/**
 * The retry schedule of a deferred recipient: Momentum's exponential
 * back-off (`Retry_Interval`, doubled after each failure, at most
 * `Max_Retry_Interval`), with jitter so that mail deferred together does
 * not come back together, and never past the recipient's expiry
 * (`Message_Expiration`): the last attempt is made when it expires.
 */
export interface RetryPolicy {
  retryIntervalMs: number;
  maxRetryIntervalMs: number;
  retryJitter: number;
  messageExpirationMs: number;
}

/** Delay before the next attempt after `failures` failed ones (1 = the first failure). */
export function retryDelay(failures: number, p: RetryPolicy, random: () => number = Math.random): number {
  const base = Math.min(p.maxRetryIntervalMs, p.retryIntervalMs * 2 ** Math.max(0, Math.min(failures - 1, 40)));
  return Math.max(0, Math.round(base * (1 + p.retryJitter * (random() * 2 - 1))));
}

/** When to try next, or null when the recipient has expired. */
export function nextAttempt(failures: number, receivedAt: number, now: number, p: RetryPolicy, random?: () => number): number | null {
  const expires = receivedAt + p.messageExpirationMs;
  if (now >= expires) return null;
  return Math.min(now + retryDelay(failures, p, random), expires);
}
