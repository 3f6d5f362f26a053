export const DAY_MS = 86_400_000;

/** An instant as the API shows it (ISO 8601, UTC), or null. */
export function iso(ms: number): string;
export function iso(ms: number | null): string | null;
export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** `YYYY-MM-DD` of the UTC day `ms` falls in. */
export const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
export const dayStart = (day: string) => Date.parse(`${day}T00:00:00.000Z`);
/** The UTC day before the one `ms` falls in: what a run just after midnight reports on. */
export const previousUtcDay = (ms: number) => utcDay(dayStart(utcDay(ms)) - DAY_MS);
