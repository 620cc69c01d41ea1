import { afterEach, describe, expect, it } from 'vitest'
import { Http, NetworkError, retryAfterMs } from '../../src/http.js'
import { freePort } from '../support/processes.ts'
import { type Reply, type Stub, startStub } from '../support/stub-server.ts'

let stub: Stub | undefined
afterEach(async () => {
  await stub?.close()
  stub = undefined
})

async function serve(replies: Reply[]): Promise<Stub> {
  stub = await startStub((_, index) => replies[Math.min(index, replies.length - 1)])
  return stub
}

const http = (options: Partial<ConstructorParameters<typeof Http>[0]> = {}) =>
  new Http({ userAgent: 'flow-dispatch-test', headers: { 'x-test': '1' }, baseDelayMs: 50, maxDelayMs: 200, ...options })

describe('Http', () => {
  it('retries a read through 503, a dropped connection and 502, then returns the answer', async () => {
    const server = await serve([{ status: 503 }, 'drop', { status: 502 }, { status: 200, json: { ok: true } }])
    const response = await http().send({ method: 'GET', url: `${server.url}/x`, idempotent: true })
    expect(response.status).toBe(200)
    expect(JSON.parse(response.body)).toEqual({ ok: true })
    expect(server.requests).toHaveLength(4)
    expect(server.requests[0].headers).toMatchObject({ 'x-test': '1', 'user-agent': expect.stringContaining('flow-dispatch-test'), accept: 'application/json, text/json;q=0.9, */*;q=0.1' })
  })

  it('waits as long as Retry-After says', async () => {
    const server = await serve([{ status: 429, headers: { 'retry-after': '1' } }, { status: 200, json: {} }])
    const started = Date.now()
    expect((await http().send({ method: 'GET', url: server.url, idempotent: true })).status).toBe(200)
    expect(Date.now() - started).toBeGreaterThanOrEqual(950)
  })

  it('returns the last answer when Retry-After reaches past the deadline, without waiting', async () => {
    const server = await serve([{ status: 429, headers: { 'retry-after': '3600' } }])
    const response = await http().send({ method: 'GET', url: server.url, idempotent: true, deadline: Date.now() + 5_000 })
    expect(response.status).toBe(429)
    expect(server.requests).toHaveLength(1)
  })

  it('never repeats a request that is not safe to repeat', async () => {
    const server = await serve([{ status: 503 }, { status: 201, json: {} }])
    const response = await http().send({ method: 'POST', url: server.url, json: { a: 1 }, idempotent: false })
    expect(response.status).toBe(503)
    expect(server.requests).toHaveLength(1)
    expect(server.requests[0].headers['content-type']).toBe('application/json')
    expect(JSON.parse(server.requests[0].body)).toEqual({ a: 1 })

    const dropped = await serve(['drop', { status: 201, json: {} }])
    await expect(http().send({ method: 'POST', url: dropped.url, json: {}, idempotent: false })).rejects.toBeInstanceOf(NetworkError)
    expect(dropped.requests).toHaveLength(1)
  })

  it('does not retry a client error', async () => {
    const server = await serve([{ status: 404, json: { detail: 'Not found' } }])
    expect((await http().send({ method: 'GET', url: server.url, idempotent: true })).status).toBe(404)
    expect(server.requests).toHaveLength(1)
  })

  it('stops after the last attempt and returns what the server said', async () => {
    const server = await serve([{ status: 500 }])
    expect((await http({ maxAttempts: 3 }).send({ method: 'GET', url: server.url, idempotent: true })).status).toBe(500)
    expect(server.requests).toHaveLength(3)
  })

  it('fails fast on a server it never reached', async () => {
    const port = await freePort()
    const started = Date.now()
    const error = await http({ baseDelayMs: 5_000 })
      .send({ method: 'GET', url: `http://127.0.0.1:${port}/api`, idempotent: true })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NetworkError)
    expect((error as NetworkError).code).toBe('ECONNREFUSED')
    expect(Date.now() - started).toBeLessThan(4_000)
  })

  it('ends an attempt whose body never finishes, and no attempt outlives the deadline', async () => {
    const server = await serve(['stall'])
    const started = Date.now()
    const error = await http({ attemptTimeoutMs: 300 })
      .send({ method: 'GET', url: server.url, idempotent: true, deadline: Date.now() + 1_000 })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NetworkError)
    expect((error as Error).message).toMatch(/no complete answer within|no time left/)
    expect(Date.now() - started).toBeLessThan(3_000)
    expect(server.requests.length).toBeGreaterThanOrEqual(2)
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
