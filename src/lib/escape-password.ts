/**
 * Percent-encoding of a password for the userinfo part of a connection URL.
 * Same output as `molt escape-password` (Go's url.QueryEscape) for every character except the space:
 * QueryEscape writes "+", which PostgreSQL drivers and Go's url.Parse read back as a literal plus in
 * userinfo, so a password with a space would silently be wrong. We write "%20".
 */
const UNRESERVED = /[A-Za-z0-9\-_.~]/;

export function escapePassword(password: string): string {
  let out = '';
  for (const ch of password) {
    if (UNRESERVED.test(ch)) {
      out += ch;
      continue;
    }
    for (const byte of Buffer.from(ch, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
