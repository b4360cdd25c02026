/**
 * Lets the event loop run before going on: setImmediate comes after the
 * poll phase, so every timer and socket that is ready has its turn first.
 * What work done in slices (a compile, a CSV datasource, the MIME reader)
 * awaits between slices.
 */
export const nextTurn = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));
