import { once } from 'node:events'
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import type { FlowDispatchError } from '../../src/errors.js'
import { ActionsHost } from '../../src/host.js'
import { Http, type HttpOptions, retryAfterMs } from '../../src/http.js'
import { type FakeClock, fakeClock } from '../support/clock.ts'
import { freePort } from '../support/processes.ts'
import { printed } from '../support/stdout.ts'
import { closedAfterEach } from '../support/lifetime.ts'
import { type Reply, type Stub, startStub } from '../support/stub-server.ts'

const stubs = closedAfterEach(startStub)
const serve = (replies: Reply[]): Promise<Stub> => stubs((_, index) => replies[Math.min(index, replies.length - 1)])

/** An Http on `clock`: its pauses are noted, not waited out, and its deadlines read on that clock. */
const http = (clock: FakeClock, options: Partial<HttpOptions> = {}) =>
  new Http({
    userAgent: 'flow-dispatch-test',
    log: new ActionsHost(),
    headers: { 'x-test': '1' },
    baseDelayMs: 50,
    maxDelayMs: 200,
    now: clock.now,
    sleep: clock.sleep,
    ...options
  })

const sum = (values: number[]): number => values.reduce((total, value) => total + value, 0)

describe('Http', () => {
  it('retries a read through 503, a dropped connection and 502, then returns the answer', async () => {
    const server = await serve([{ status: 503 }, 'drop', { status: 502 }, { status: 200, json: { ok: true } }])
    const clock = fakeClock()
    const response = await http(clock).send({ method: 'GET', url: `${server.url}/x`, idempotent: true })
    expect(response.status).toBe(200)
    expect(JSON.parse(response.body)).toEqual({ ok: true })
    expect(server.requests).toHaveLength(4)
    // Exponential backoff with ±20 % jitter, capped at maxDelayMs.
    expect(clock.pauses).toHaveLength(3)
    clock.pauses.forEach((pause, i) => {
      expect(pause).toBeGreaterThanOrEqual(Math.min(200, 50 * 2 ** i * 0.8))
      expect(pause).toBeLessThanOrEqual(Math.min(200, 50 * 2 ** i * 1.2))
    })
    expect(server.requests[0].headers).toMatchObject({
      'x-test': '1',
      'user-agent': expect.stringContaining('flow-dispatch-test'),
      accept: 'application/json, text/json;q=0.9, */*;q=0.1'
    })
  })

  it('waits as long as Retry-After says, in seconds or as an HTTP date', async () => {
    const clock = fakeClock()
    const server = await serve([
      { status: 429, headers: { 'retry-after': '1' } },
      { status: 503, headers: { 'retry-after': new Date(clock.now() + 1_000 + 3_000).toUTCString() } },
      { status: 200, json: {} }
    ])
    expect((await http(clock).send({ method: 'GET', url: server.url, idempotent: true })).status).toBe(200)
    // The date is read on the same clock: 1 s after the first pause, it is 3 s away.
    expect(clock.pauses).toEqual([1_000, 3_000])
  })

  it('returns the last answer when Retry-After reaches past the deadline, without waiting', async () => {
    const server = await serve([{ status: 429, headers: { 'retry-after': '3600' } }])
    const clock = fakeClock()
    const response = await http(clock).send({ method: 'GET', url: server.url, idempotent: true, deadline: clock.now() + 5_000 })
    expect(response.status).toBe(429)
    expect(server.requests).toHaveLength(1)
    expect(clock.pauses).toEqual([])
  })

  it('never repeats a request that is not safe to repeat', async () => {
    const server = await serve([{ status: 503 }, { status: 201, json: {} }])
    const response = await http(fakeClock()).send({ method: 'POST', url: server.url, json: { a: 1 }, idempotent: false })
    expect(response.status).toBe(503)
    expect(server.requests).toHaveLength(1)
    expect(server.requests[0].headers['content-type']).toBe('application/json')
    expect(JSON.parse(server.requests[0].body)).toEqual({ a: 1 })

    const dropped = await serve(['drop', { status: 201, json: {} }])
    await expect(http(fakeClock()).send({ method: 'POST', url: dropped.url, json: {}, idempotent: false })).rejects.toHaveProperty(
      'kind',
      'transient'
    )
    expect(dropped.requests).toHaveLength(1)
  })

  it('does not retry a client error', async () => {
    const server = await serve([{ status: 404, json: { detail: 'Not found' } }])
    expect((await http(fakeClock()).send({ method: 'GET', url: server.url, idempotent: true })).status).toBe(404)
    expect(server.requests).toHaveLength(1)
  })

  it('stops after the last attempt and returns what the server said', async () => {
    const server = await serve([{ status: 500 }])
    const clock = fakeClock()
    expect((await http(clock, { maxAttempts: 3 }).send({ method: 'GET', url: server.url, idempotent: true })).status).toBe(500)
    expect(server.requests).toHaveLength(3)
    expect(clock.pauses).toHaveLength(2)
  })

  it('fails fast on a server it never reached: no retry, no pause', async () => {
    const port = await freePort()
    const clock = fakeClock()
    const error = await http(clock, { baseDelayMs: 5_000 })
      .send({ method: 'GET', url: `http://127.0.0.1:${port}/api`, idempotent: true })
      .catch((e: unknown) => e)
    expect(error).toHaveProperty('kind', 'unreachable')
    expect((error as FlowDispatchError).code).toBe('ECONNREFUSED')
    expect((error as Error).message).not.toContain('attempts')
    expect(clock.pauses).toEqual([])
  })

  it('ends an attempt whose body never finishes, and no attempt outlives the deadline', async () => {
    const server = await serve(['stall'])
    // The real clock: a stalled body is ended by a real timer, and the deadline must be read on the same time.
    const started = Date.now()
    const error = await http(fakeClock(), { attemptTimeoutMs: 300, now: Date.now })
      .send({ method: 'GET', url: server.url, idempotent: true, deadline: Date.now() + 1_000 })
      .catch((e: unknown) => e)
    expect(error).toHaveProperty('kind', 'transient')
    expect((error as Error).message).toMatch(/no complete answer within|no time left/)
    expect(Date.now() - started).toBeLessThan(3_000)
    expect(server.requests.length).toBeGreaterThanOrEqual(2)
  })
})

describe('Http: a request the step needs, retried until the deadline', () => {
  it('goes on past the attempts a read gets, for as long as the deadline allows, and says so once', async () => {
    const server = await serve([...Array(7).fill({ status: 503, text: 'Service Unavailable' }), { status: 201, json: { id: 'r' } }])
    const clock = fakeClock()
    let status = 0
    const log = await printed(async () => {
      const response = await http(clock, { maxAttempts: 3 }).send({
        method: 'POST',
        url: server.url,
        json: {},
        idempotent: true,
        untilDeadline: true,
        deadline: clock.now() + 15_000
      })
      status = response.status
    })
    expect(status).toBe(201)
    expect(server.requests).toHaveLength(8)
    const told = log.split('\n').filter((line) => line.includes('503') && !line.startsWith('::debug::'))
    expect(told).toHaveLength(1)
    expect(told[0]).toMatch(
      /^POST http:\/\/127\.0\.0\.1:\d+: HTTP 503; retrying until the step's timeout \(2026-11-22T18:00:15Z\), with pauses of up to 0s$/
    )
    expect(clock.pauses).toHaveLength(7)
  })

  it('stops at the deadline with the last answer, however many attempts that was', async () => {
    const server = await serve([{ status: 503 }])
    const clock = fakeClock()
    const deadline = clock.now() + 1_500
    let status = 0
    await printed(async () => {
      const response = await http(clock, { maxAttempts: 2 }).send({
        method: 'POST',
        url: server.url,
        json: {},
        idempotent: true,
        untilDeadline: true,
        deadline
      })
      status = response.status
    })
    expect(status).toBe(503)
    expect(server.requests.length).toBeGreaterThan(2)
    expect(server.requests).toHaveLength(clock.pauses.length + 1)
    // No pause reaches past the deadline, and the next one would have.
    expect(clock.now()).toBeLessThan(deadline)
    expect(clock.now() + 200 * 0.8).toBeGreaterThanOrEqual(deadline - 200)
  })

  it('tells the retries of a read once too, and the attempts in its last failure', async () => {
    const server = await serve(['drop'])
    const clock = fakeClock()
    let error: unknown
    const log = await printed(async () => {
      error = await http(clock, { maxAttempts: 4, baseDelayMs: 1_000, maxDelayMs: 30_000 })
        .send({ method: 'GET', url: server.url, idempotent: true })
        .catch((e: unknown) => e)
    })
    expect(error).toHaveProperty('kind', 'transient')
    expect(clock.pauses).toHaveLength(3)
    // About 1 + 2 + 4 s of pauses, on the clock the message reads.
    expect((error as Error).message).toMatch(new RegExp(`\\(after 4 attempts in ${(sum(clock.pauses) / 1000).toFixed(0)}s\\)$`))
    expect(log.split('\n').filter((line) => line.includes('retrying'))).toEqual([
      expect.stringMatching(/: socket hang up; retrying up to 3 times, with pauses of up to 30s$/)
    ])
  })
})

/** A self-signed certificate for 127.0.0.1, made for these tests only (valid until 2126). */
const TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgCdF4sWbEpK6dffh7
+C2fFMEUzmgO2H1o6GVEABy4CtyhRANCAARb2OBJV2IOkMQn42dt39mB4iCFtzbm
r0PgqROY9dFw4WVkD35AbLif04MFxtaC4xrplA5LqR4qM9zJvKr7MYIm
-----END PRIVATE KEY-----
`
const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBojCCAUigAwIBAgIUXvF2Voz04s0sPRzVUAav57SxLwwwCgYIKoZIzj0EAwIw
HTEbMBkGA1UEAwwSZmxvdy1kaXNwYXRjaC10ZXN0MCAXDTI2MTEyNTIyMTA0NFoY
DzIxMjYxMTAxMjIxMDQ0WjAdMRswGQYDVQQDDBJmbG93LWRpc3BhdGNoLXRlc3Qw
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARb2OBJV2IOkMQn42dt39mB4iCFtzbm
r0PgqROY9dFw4WVkD35AbLif04MFxtaC4xrplA5LqR4qM9zJvKr7MYImo2QwYjAd
BgNVHQ4EFgQUql0JdhqqIZ5Hw2l5uxyZO2rqhhkwHwYDVR0jBBgwFoAUql0Jdhqq
IZ5Hw2l5uxyZO2rqhhkwDwYDVR0TAQH/BAUwAwEB/zAPBgNVHREECDAGhwR/AAAB
MAoGCCqGSM49BAMCA0gAMEUCIQDzBJ2N5bjg2o2kzdMWGeG9u7tOT93xyDTqPRGc
TekECwIgeuRurZb6rIeVvk7Mm+Wj8aFlUZGOGgsrsfXQgeVatSw=
-----END CERTIFICATE-----
`

describe('Http: a TLS failure', () => {
  it('to an http server over https: one line naming the URL and what to check, said once, not retried', async () => {
    const server = await serve([{ status: 200, json: {} }])
    const url = `${server.url.replace('http:', 'https:')}/api/health`
    const clock = fakeClock()
    let error: unknown
    const log = await printed(async () => {
      error = await http(clock)
        .send({ method: 'GET', url, idempotent: true, untilDeadline: true, deadline: clock.now() + 60_000 })
        .catch((e: unknown) => e)
    })
    expect(error).toHaveProperty('kind', 'tls')
    expect(clock.pauses).toEqual([])
    expect(server.requests).toEqual([])
    const message = (error as Error).message
    expect(message).not.toContain('\n')
    expect(message).toMatch(
      /^GET https:\/\/127\.0\.0\.1:\d+\/api\/health: https:\/\/127\.0\.0\.1:\d+ does not speak TLS on that port \(wrong version number\): it looks like a plain-HTTP server\. Check the scheme and port of the URL: http:\/\/ for a server without TLS/
    )
    expect(log).toBe('')
  })

  it('a certificate Node does not trust: named, with what to check, not retried', async () => {
    const tls = createServer({ key: TEST_KEY, cert: TEST_CERT }, (_, res) => res.end('{}'))
    tls.listen(0, '127.0.0.1')
    await once(tls, 'listening')
    let connections = 0
    tls.on('connection', () => connections++)
    try {
      const url = `https://127.0.0.1:${(tls.address() as AddressInfo).port}/api`
      const clock = fakeClock()
      let error: unknown
      const log = await printed(async () => {
        error = await http(clock)
          .send({ method: 'GET', url, idempotent: true, deadline: clock.now() + 60_000 })
          .catch((e: unknown) => e)
      })
      expect(clock.pauses).toEqual([])
      expect(error).toHaveProperty('kind', 'tls')
      expect((error as Error).message).toMatch(
        /^GET https:\/\/127\.0\.0\.1:\d+\/api: the certificate of https:\/\/127\.0\.0\.1:\d+ was refused \(DEPTH_ZERO_SELF_SIGNED_CERT: self[- ]signed certificate[^)]*\)\. .*NODE_EXTRA_CA_CERTS/
      )
      expect(log).toBe('')
      expect(connections).toBe(1)
    } finally {
      tls.closeAllConnections()
      tls.close()
    }
  })
})

describe('retryAfterMs', () => {
  it('reads seconds and HTTP dates', () => {
    expect(retryAfterMs('7')).toBe(7000)
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:10 GMT', Date.parse('2026-01-01T00:00:00Z'))).toBe(10_000)
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:00 GMT', Date.parse('2026-01-01T00:00:10Z'))).toBe(0)
    expect(retryAfterMs(undefined)).toBeUndefined()
    expect(retryAfterMs('soon')).toBeUndefined()
  })
})
