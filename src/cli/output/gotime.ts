/**
 * Go's time.Time.String() as docker's formatters print times (`CreatedAt` of ps, images). In UTC it never asks Intl:
 * the first Intl time-zone lookup costs a CLI ~25 ms CPU (ICU's zone data).
 */
/** Go's time.Time.String() for a Unix time in the local zone: `2026-11-25 12:16:01 +0000 UTC`. */
export function goTimeString(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  const offMin = -d.getTimezoneOffset();
  const p = (n: number, w = 2) => String(Math.abs(n)).padStart(w, '0');
  const sign = offMin >= 0 ? '+' : '-';
  const off = `${sign}${p(Math.trunc(Math.abs(offMin) / 60))}${p(Math.abs(offMin) % 60)}`;
  let zone = 'UTC';
  if (offMin !== 0 || (process.env.TZ && !/^(UTC|Etc\/UTC|UTC0|)$/.test(process.env.TZ))) {
    try {
      zone = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((x) => x.type === 'timeZoneName')?.value ?? '';
      if (/^GMT[+-]/.test(zone) || zone === '') zone = `${sign}${p(Math.trunc(Math.abs(offMin) / 60))}${offMin % 60 ? p(Math.abs(offMin) % 60) : ''}`;
      if (zone === 'GMT' && offMin === 0) zone = 'UTC';
    } catch {
      zone = '';
    }
  }
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${off} ${zone}`;
}
