/**
 * Lets the event loop run before going on: setImmediate comes after the
 * poll phase, so every timer and socket that is ready has its turn first.
 * What work done in slices (a compile, a CSV datasource, the MIME reader)
 * awaits between slices.
 */
export const nextTurn = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/** Work done in slices of `sliceMs`: when the current slice began (performance.now()). */
export interface SliceClock {
  sliceMs: number;
  since: number;
}

/** Whether the clock's slice is over: checked between steps, without awaiting anything when it is not. */
export const sliceOver = (clock: SliceClock): boolean => performance.now() - clock.since >= clock.sliceMs;

/** A turn of the event loop, then a new slice. */
export async function nextSlice(clock: SliceClock): Promise<void> {
  await nextTurn();
  clock.since = performance.now();
}
