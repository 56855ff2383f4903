/** Database URLs as they may be shown: in logs, errors and the start-up banner. */

/** A connection URL without its password, for logs. */
export function withoutPassword(url: string): string {
  const scheme = url.indexOf('://');
  if (scheme < 0) return url;
  const rest = url.slice(scheme + 3);
  const end = [rest.indexOf('?'), rest.indexOf('#')].filter((i) => i >= 0).reduce((a, b) => Math.min(a, b), rest.length);
  const at = rest.lastIndexOf('@', end - 1);
  const user = at < 0 ? '' : `${rest.slice(0, at).split(':')[0]}@`;
  return `${url.slice(0, scheme + 3)}${user}${rest.slice(at + 1)}`.replace(/([?&])password=[^&#]*(&|(?=#)|$)/i, '$1').replace(/[?&](#|$)/, '$1');
}
