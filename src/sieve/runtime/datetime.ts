/**
 * Dates for the date extension (RFC 5260): parsing RFC 5322 3.3 date-times
 * from header fields, and extracting the date parts of RFC 5260 4.2 in a
 * given time zone.
 */

export interface ZonedTime {
  /** Milliseconds since the epoch, UTC. */
  utc: number;
  /** The zone's offset from UTC in minutes (+0300 is 180). */
  offset: number;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
/** RFC 5322 4.3 obsolete zones. */
const OBS_ZONES: Record<string, number> = { ut: 0, gmt: 0, z: 0, est: -300, edt: -240, cst: -360, cdt: -300, mst: -420, mdt: -360, pst: -480, pdt: -420 };

/** Parses "+hhmm"/"-hhmm" (RFC 5260 4.1 :zone); null when invalid. */
export function parseZone(z: string): number | null {
  const m = /^([+-])([0-9]{2})([0-9]{2})$/.exec(z.trim());
  if (!m || Number(m[3]) > 59) return null;
  const v = Number(m[2]) * 60 + Number(m[3]);
  return m[1] === '-' ? -v : v;
}

/** RFC 5322 3.3 date-time, with comments and the day name optional; null when invalid. */
export function parseDateTime(text: string): ZonedTime | null {
  const s = text.replace(/\([^()]*\)/g, ' ').trim();
  const m = /^(?:[A-Za-z]{3}\s*,\s*)?(\d{1,2})\s+([A-Za-z]{3})\s+(\d{2,4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s+([+-]\d{4}|[A-Za-z]{1,3})\s*$/.exec(s);
  if (!m) return null;
  const month = MONTHS.indexOf(m[2]!.toLowerCase());
  let year = Number(m[3]);
  if (m[3]!.length === 2) year += year < 50 ? 2000 : 1900;
  else if (m[3]!.length === 3) year += 1900;
  const day = Number(m[1]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6] ?? '0');
  const offset = /^[+-]/.test(m[7]!) ? parseZone(m[7]!) : OBS_ZONES[m[7]!.toLowerCase()];
  if (month < 0 || offset === null || offset === undefined || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return null;
  const wall = Date.UTC(year, month, day, hour, minute, second);
  if (new Date(wall).getUTCDate() !== day) return null;
  return { utc: wall - offset * 60_000, offset };
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const zoneText = (offset: number, colon = false) => `${offset < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(offset) / 60))}${colon ? ':' : ''}${pad(Math.abs(offset) % 60)}`;

export const DATE_PARTS = ['year', 'month', 'day', 'date', 'julian', 'hour', 'minute', 'second', 'time', 'iso8601', 'std11', 'zone', 'weekday'];

/** RFC 5260 4.2: one date part, in the zone of `t`. */
export function datePart(t: ZonedTime, part: string): string | null {
  const w = new Date(t.utc + t.offset * 60_000);
  const Y = pad(w.getUTCFullYear(), 4);
  const M = pad(w.getUTCMonth() + 1);
  const D = pad(w.getUTCDate());
  const h = pad(w.getUTCHours());
  const mi = pad(w.getUTCMinutes());
  const sec = pad(w.getUTCSeconds());
  switch (part.toLowerCase()) {
    case 'year': return Y;
    case 'month': return M;
    case 'day': return D;
    case 'date': return `${Y}-${M}-${D}`;
    // The Modified Julian Day: days since 1858-11-17 (the Unix epoch is MJD 40587).
    case 'julian': return String(Math.floor(w.getTime() / 86_400_000) + 40587);
    case 'hour': return h;
    case 'minute': return mi;
    case 'second': return sec;
    case 'time': return `${h}:${mi}:${sec}`;
    // RFC 5260 4.2: "a time zone offset of zero MUST be represented by "Z" and not "+00:00"".
    case 'iso8601': return `${Y}-${M}-${D}T${h}:${mi}:${sec}${t.offset === 0 ? 'Z' : zoneText(t.offset, true)}`;
    case 'std11': return `${DAYS[w.getUTCDay()]}, ${Number(D)} ${MONTHS[w.getUTCMonth()]!.replace(/^./, (c) => c.toUpperCase())} ${Y} ${h}:${mi}:${sec} ${zoneText(t.offset)}`;
    case 'zone': return zoneText(t.offset);
    case 'weekday': return String(w.getUTCDay());
    default: return null;
  }
}

/** The local zone's offset at that instant, in minutes. */
export function localOffset(utc: number): number {
  return -new Date(utc).getTimezoneOffset();
}
