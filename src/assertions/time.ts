/**
 * RFC 3339 times as assertions write them (`2016-04-01T00:00:00.0Z`,
 * `2018-06-27T14:25:40+02:00`), kept at nanosecond precision so comparisons
 * (key validity vs. timestamps, §9) are exact like snapd's.
 */

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Parses an RFC 3339 date-time into nanoseconds since the Unix epoch, or
 * `undefined` when malformed or out of range.
 */
export function parseRfc3339(s: string): bigint | undefined {
  const m = RFC3339.exec(s);
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMinutes = 0;
  const zone = m[8]!;
  if (zone !== "Z") {
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = (zone[0] === "-" ? -1 : 1) * (oh * 60 + om);
  }
  // Date.UTC maps years 0..99 to 1900..1999; such assertions do not exist, reject them.
  if (year < 100) return undefined;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second) - offsetMinutes * 60_000;
  const nanos = BigInt((m[7] ?? "").padEnd(9, "0"));
  return BigInt(ms) * 1_000_000n + nanos;
}

/** A JS `Date` in the nanosecond scale of {@link parseRfc3339}. */
export function dateToNanos(d: Date): bigint {
  return BigInt(d.getTime()) * 1_000_000n;
}

/** Formats nanoseconds since the epoch as RFC 3339 UTC (for messages). */
export function formatNanos(ns: bigint): string {
  const ms = ns / 1_000_000n;
  return new Date(Number(ms)).toISOString().replace(".000Z", "Z");
}
