import type { IncomingMessage, ServerResponse } from "http"

/** A request whose body this middleware has read, as the exact bytes the client sent. */
export interface RawBodyRequest extends IncomingMessage {
  rawBody?: unknown
}

export type NextFunction = (error?: unknown) => void

export interface RawBodyOptions {
  /** Largest body accepted, in bytes; larger ones get 413. */
  limit: number
}

/**
 * How long the rest of a refused body is read and thrown away. Closing the connection as soon
 * as the 413 is out resets it under a client still sending, which then sees a failed request
 * instead of the answer; a body that keeps coming past this is cut off.
 */
const DISCARD_MS = 2_000

function sendTooLarge(req: IncomingMessage, res: ServerResponse, limit: number): void {
  req.resume()
  if (res.headersSent) {
    return
  }
  const body = JSON.stringify({
    type: "payload_too_large",
    message: `The request body exceeds ${limit} bytes`,
  })
  res.statusCode = 413
  res.setHeader("Content-Type", "application/json; charset=utf-8")
  res.setHeader("Content-Length", Buffer.byteLength(body))
  res.end(body)
  if (!req.readableEnded) {
    const cutOff = setTimeout(() => req.socket.destroy(), DISCARD_MS)
    cutOff.unref()
    req.once("end", () => clearTimeout(cutOff))
  }
}

/**
 * Reads the request body into a Buffer on `req.rawBody`, untouched, so that signatures over
 * the exact bytes can be checked. Bodies over `limit` get 413 before anything else runs.
 * Use it only on routes whose JSON body parser is switched off.
 */
export function rawBody(options: RawBodyOptions) {
  const { limit } = options
  return function rawBodyMiddleware(
    req: RawBodyRequest,
    res: ServerResponse,
    next: NextFunction
  ): void {
    if (Buffer.isBuffer(req.rawBody)) {
      next()
      return
    }
    const declared = Number(req.headers["content-length"])
    if (Number.isFinite(declared) && declared > limit) {
      sendTooLarge(req, res, limit)
      return
    }
    if (req.readableEnded) {
      // Another parser consumed the stream; the route reports the missing bytes.
      next()
      return
    }

    const chunks: Buffer[] = []
    let size = 0
    let settled = false
    const cleanup = () => {
      req.off("data", onData)
      req.off("end", onEnd)
      req.off("error", onError)
      req.off("aborted", onAborted)
    }
    const settle = (then: () => void) => {
      if (settled) return
      settled = true
      cleanup()
      then()
    }
    const onData = (chunk: Buffer | string) => {
      const buffer = typeof chunk === "string" ? Buffer.from(chunk) : chunk
      size += buffer.length
      if (size > limit) {
        settle(() => {
          chunks.length = 0
          sendTooLarge(req, res, limit)
        })
        return
      }
      chunks.push(buffer)
    }
    const onEnd = () =>
      settle(() => {
        req.rawBody = Buffer.concat(chunks, size)
        next()
      })
    const onError = (error: Error) => settle(() => next(error))
    // The client went away: nobody is left to answer.
    const onAborted = () => settle(() => undefined)

    req.on("data", onData)
    req.on("end", onEnd)
    req.on("error", onError)
    req.on("aborted", onAborted)
  }
}
