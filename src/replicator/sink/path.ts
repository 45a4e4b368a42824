/**
 * Maps a webhook request path to target-schema segments, as MOLT Replicator does: split the escaped
 * path on "/", drop empty segments (so //db///public/ equals /db/public), and query-unescape each one
 * (%2F becomes "/", "+" becomes a space). The first N segments name the target schema (N from the
 * dialect: 2 for PostgreSQL, 1 for MySQL and Oracle).
 */

export type PathResult =
  | { readonly ok: true; readonly segments: readonly string[] }
  | { readonly ok: false; readonly reason: string };

export function parseDataPath(rawPath: string, schemaSegments: number): PathResult {
  const q = rawPath.indexOf('?');
  const path = q >= 0 ? rawPath.slice(0, q) : rawPath;
  const segments: string[] = [];
  for (const raw of path.split('/')) {
    if (raw === '') continue;
    try {
      segments.push(decodeURIComponent(raw.replace(/\+/g, ' ')));
    } catch {
      return { ok: false, reason: `invalid escape in path segment "${raw}"` };
    }
  }
  if (segments.length < schemaSegments) return { ok: false, reason: `expecting at least ${schemaSegments} path segment${schemaSegments === 1 ? '' : 's'}` };
  if (segments.length > schemaSegments) {
    return {
      ok: false,
      reason: `expecting exactly ${schemaSegments} path segment${schemaSegments === 1 ? '' : 's'} naming the target schema; CDC-query (/…/table) and cloud-storage (ndjson) paths are not supported`,
    };
  }
  return { ok: true, segments };
}
