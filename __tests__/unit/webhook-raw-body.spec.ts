import http from "http"
import type { AddressInfo } from "net"
import { rawBody, type RawBodyRequest } from "../../src/api/raw-body"

const LIMIT = 1024

interface Served {
  url: string
  seen: Buffer[]
  close(): Promise<void>
}

async function serve(): Promise<Served> {
  const middleware = rawBody({ limit: LIMIT })
  const seen: Buffer[] = []
  const server = http.createServer((req: RawBodyRequest, res) => {
    middleware(req, res, (error?: unknown) => {
      if (error) {
        res.statusCode = 500
        res.end(String(error))
        return
      }
      const body = req.rawBody as Buffer
      seen.push(body)
      res.setHeader("Content-Type", "application/json")
      res.end(JSON.stringify({ length: body.length, isBuffer: Buffer.isBuffer(body) }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** Streams a body in chunks without a Content-Length header. */
function postChunked(url: string, chunks: Buffer[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST", headers: { "transfer-encoding": "chunked" } })
    req.on("response", (res) => {
      let body = ""
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => (body += chunk))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on("error", reject)
    for (const chunk of chunks) {
      req.write(chunk)
    }
    req.end()
  })
}

describe("rawBody middleware", () => {
  let server: Served

  beforeAll(async () => {
    server = await serve()
  })

  afterAll(async () => {
    await server.close()
  })

  it("keeps the exact bytes, whitespace and all", async () => {
    const payload = '{ "id": "evt_1",\n  "type": "x" ,"emoji": "\u00e9\u20ac" }'
    const res = await fetch(server.url, { method: "POST", body: payload })
    expect(res.status).toBe(200)
    const last = server.seen[server.seen.length - 1]
    expect(last.equals(Buffer.from(payload, "utf8"))).toBe(true)
  })

  it("accepts a body of exactly the limit", async () => {
    const res = await fetch(server.url, { method: "POST", body: Buffer.alloc(LIMIT, 97) })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ length: LIMIT, isBuffer: true })
  })

  it("gives an empty Buffer for an empty body", async () => {
    const res = await fetch(server.url, { method: "POST" })
    expect(await res.json()).toEqual({ length: 0, isBuffer: true })
  })

  it("answers 413 when Content-Length announces too much", async () => {
    const before = server.seen.length
    const res = await fetch(server.url, { method: "POST", body: Buffer.alloc(LIMIT + 1, 97) })
    expect(res.status).toBe(413)
    expect(await res.json()).toMatchObject({ type: "payload_too_large" })
    expect(server.seen.length).toBe(before)
  })

  it("answers 413 when a chunked body grows past the limit", async () => {
    const before = server.seen.length
    const chunk = Buffer.alloc(400, 98)
    const res = await postChunked(server.url, [chunk, chunk, chunk, chunk])
    expect(res.status).toBe(413)
    expect(server.seen.length).toBe(before)
  })

  it("accepts a chunked body under the limit", async () => {
    const chunk = Buffer.alloc(300, 98)
    const res = await postChunked(server.url, [chunk, chunk, chunk])
    expect(res.status).toBe(200)
    expect(JSON.parse(res.body)).toEqual({ length: 900, isBuffer: true })
  })
})
