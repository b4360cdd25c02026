/**
 * The records of an envelope journal's text: its whole lines, up to the
 * zeros an open journal holds ahead of its records (journal-append-thread.ts).
 */
export function records(text: string): string[] {
  const zeros = text.indexOf('\0');
  const upTo = zeros < 0 ? text : text.slice(0, zeros);
  return upTo.split('\n').filter((line) => line !== '');
}
