/**
 * For tests that show a run lets the event loop go while a worker thread
 * works for it: how often a 1 ms interval fired while `f` ran. A step that
 * holds the loop lets none fire until it ends, whatever the machine's speed.
 */
export async function ticksDuring<T>(f: () => Promise<T>): Promise<[T, number]> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  try {
    return [await f(), ticks];
  } finally {
    clearInterval(timer);
  }
}
