/**
 * Small exact-value helpers shared by the emulator: Go duration parsing/formatting with Go's error
 * texts, and a JSON parser/serializer that keeps numbers as their source text and writes JSON the
 * way CockroachDB's changefeed encoder does. No I/O.
 */
export { parseGoDuration, formatGoDuration, GoDurationError } from './go-duration.js';
export { parseRawJson, stringifyRawJson, normalizeJsonText, rawToPlain, goQuote, RawNumber, RawObject, RawJsonError, type RawJson } from './raw-json.js';
