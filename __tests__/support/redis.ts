import { createRequire } from "module"

/** The slice of `ioredis` (installed with @medusajs/cache-redis) the harness uses. */
interface RedisClient {
  keys(pattern: string): Promise<string[]>
  del(...keys: string[]): Promise<number>
  ping(): Promise<string>
  quit(): Promise<string>
  on(event: "error", listener: (err: Error) => void): void
}

interface IoRedisModule {
  default: new (url: string, options?: Record<string, unknown>) => RedisClient
}

export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379"

/** REDIS_URL of the test runner's environment, or the local default. */
export function redisServerUrl(): string {
  return process.env.REDIS_URL || DEFAULT_REDIS_URL
}

function connect(url: string): RedisClient {
  const fromHere = createRequire(__filename)
  const fromCacheRedis = createRequire(fromHere.resolve("@medusajs/cache-redis"))
  const IoRedis = (fromCacheRedis("ioredis") as IoRedisModule).default
  const client = new IoRedis(url, { lazyConnect: false, maxRetriesPerRequest: 1 })
  client.on("error", () => undefined)
  return client
}

/** Deletes every key that contains the namespace (event queue, cache, sessions). */
export async function clearRedisNamespace(url: string, namespace: string): Promise<number> {
  const client = connect(url)
  try {
    const keys = await client.keys(`*${namespace}*`)
    let deleted = 0
    for (let i = 0; i < keys.length; i += 500) {
      deleted += await client.del(...keys.slice(i, i + 500))
    }
    return deleted
  } finally {
    await client.quit().catch(() => undefined)
  }
}
