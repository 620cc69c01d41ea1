/**
 * The Authorization header value of HTTP basic auth, from a user and a
 * password or from `user:password` as Prefect's auth string holds them.
 */
export function basicAuthorization(credentials: string | { username: string; password: string }): string {
  const pair = typeof credentials === 'string' ? credentials : `${credentials.username}:${credentials.password}`
  return `Basic ${Buffer.from(pair).toString('base64')}`
}
