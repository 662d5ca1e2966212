const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Day of the year, 1-based. */
function dayOfYear(date: Date): number {
  return Math.round((Date.UTC(date.getFullYear(), date.getMonth(), date.getDate()) - Date.UTC(date.getFullYear(), 0, 1)) / 86_400_000) + 1;
}

const DIRECTIVES: Record<string, (date: Date) => string> = {
  a: (d) => DAYS[d.getDay()].slice(0, 3),
  A: (d) => DAYS[d.getDay()],
  b: (d) => MONTHS[d.getMonth()].slice(0, 3),
  B: (d) => MONTHS[d.getMonth()],
  d: (d) => pad(d.getDate()),
  e: (d) => String(d.getDate()).padStart(2, ' '),
  H: (d) => pad(d.getHours()),
  I: (d) => pad(d.getHours() % 12 || 12),
  j: (d) => pad(dayOfYear(d), 3),
  m: (d) => pad(d.getMonth() + 1),
  M: (d) => pad(d.getMinutes()),
  p: (d) => (d.getHours() < 12 ? 'AM' : 'PM'),
  S: (d) => pad(d.getSeconds()),
  y: (d) => pad(d.getFullYear() % 100),
  Y: (d) => String(d.getFullYear()),
  '%': () => '%',
};

/**
 * Python's `date.strftime(format)` in the C locale (English day and month
 * names, whatever the machine's locale), in local time, for the directives
 * `%a %A %b %B %d %e %H %I %j %m %M %p %S %y %Y %%`; any other directive is
 * kept as written. Chat templates call it as `strftime_now` (Llama 3.x:
 * `strftime_now("%d %b %Y")`).
 */
export function strftime(date: Date, format: string): string {
  return format.replace(/%(.)/gs, (directive, code: string) => DIRECTIVES[code]?.(date) ?? directive);
}
