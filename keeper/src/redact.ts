// Secrets in URLs (RPC endpoints often carry an API key) and in texts that quote URLs (viem's error messages).
const SECRET_PARAM = /key|token|secret|auth|pass|signature|sig$|credential|session/i;
/** A path segment that looks like an API key: long, URL-safe, with both digits and letters (Infura, Alchemy, ...). */
const KEY_LIKE_SEGMENT = /^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_-]{20,}$/;
const REDACTED = 'redacted';

/** The URL with its userinfo, secret-looking query values and key-like path segments replaced by "redacted". */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url.replace(/[A-Za-z0-9_-]{20,}/g, (s) => (KEY_LIKE_SEGMENT.test(s) ? REDACTED : s));
  }
  if (u.username) u.username = REDACTED;
  if (u.password) u.password = REDACTED;
  for (const name of [...u.searchParams.keys()]) {
    if (SECRET_PARAM.test(name)) u.searchParams.set(name, REDACTED);
  }
  u.pathname = u.pathname
    .split('/')
    .map((segment) => (KEY_LIKE_SEGMENT.test(segment) ? REDACTED : segment))
    .join('/');
  return u.toString();
}

const URL_IN_TEXT = /\b(?:https?|wss?):\/\/[^\s"'<>`)]+/g;

/** Every URL in `text` redacted (error messages and stacks quote the request URL). */
export function redactText(text: string): string {
  return text.replace(URL_IN_TEXT, (url) => redactUrl(url));
}
