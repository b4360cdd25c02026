/**
 * Another session's work, one event-loop turn at a time (a setImmediate
 * chain): it gets turns only while the code under test lets the loop go.
 */
export function turnCounter(): { stop(): number } {
  let turns = 0;
  let running = true;
  const tick = () => {
    if (!running) return;
    turns++;
    setImmediate(tick);
  };
  setImmediate(tick);
  return {
    /** Ends the chain; how many turns it had. */
    stop: () => {
      running = false;
      return turns;
    },
  };
}
