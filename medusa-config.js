/**
 * Medusa backend configuration used by the demo (`npm start`) and the end-to-end tests.
 *
 * Environment:
 *   DATABASE_URL           PostgreSQL connection string
 *                          (default postgres://postgres@127.0.0.1:5432/medusa_stripe_demo)
 *   REDIS_URL              optional; when set, Redis backs the event bus and the cache
 *   REDIS_NAMESPACE        optional; prefixes the event queue, cache keys and sessions in
 *                          Redis, so that several stores (or test runs) can share one Redis
 *   STRIPE_API_KEY         secret key (sk_test_...) for Stripe or the Stripe emulator
 *   STRIPE_WEBHOOK_SECRET  signing secret (whsec_...) of the webhook endpoint
 *   STRIPE_HOST, STRIPE_PORT, STRIPE_PROTOCOL
 *                          optional; point the Stripe client at another host (the emulator)
 *   STRIPE_CAPTURE         "true" to capture payments as soon as they are authorized
 *   STRIPE_WEBHOOK_RETRY_INTERVAL
 *                          optional; seconds between looks for webhook events to retry
 *   STRIPE_PLUGIN_RESOLVE  how Medusa finds this plugin: a path (default: this directory,
 *                          which loads its dist/) or a package name installed in node_modules
 *   STORE_CORS, ADMIN_CORS optional CORS origins (default: any localhost origin)
 *   ADMIN_BUILD_DIR        optional; serve the Medusa admin at /app from this prebuilt
 *                          directory (`node scripts/admin-build.js` prints one)
 *   JWT_SECRET, COOKIE_SECRET
 */

const env = process.env

const DATABASE_URL = env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/medusa_stripe_demo"
const REDIS_URL = env.REDIS_URL || ""
const REDIS_NAMESPACE = env.REDIS_NAMESPACE || ""

const LOCALHOST_CORS = "/^https?:\\/\\/(localhost|127\\.0\\.0\\.1)(:\\d+)?$/"

function stripeOptions() {
  // enableUI: the Medusa admin includes the plugin's widgets (dist/admin).
  const options = { capture: env.STRIPE_CAPTURE === "true", enableUI: true }
  if (env.STRIPE_API_KEY) {
    options.api_key = env.STRIPE_API_KEY
  }
  if (env.STRIPE_WEBHOOK_SECRET) {
    options.webhook_secret = env.STRIPE_WEBHOOK_SECRET
  }
  if (env.STRIPE_HOST) {
    options.host = env.STRIPE_HOST
  }
  if (env.STRIPE_PORT) {
    options.port = Number(env.STRIPE_PORT)
  }
  if (env.STRIPE_PROTOCOL) {
    options.protocol = env.STRIPE_PROTOCOL
  }
  if (env.STRIPE_WEBHOOK_RETRY_INTERVAL) {
    options.webhook_retry_interval = Number(env.STRIPE_WEBHOOK_RETRY_INTERVAL)
  }
  return options
}

const plugins = [
  "medusa-payment-manual",
  {
    resolve: env.STRIPE_PLUGIN_RESOLVE || __dirname,
    options: stripeOptions(),
  },
]
if (env.ADMIN_BUILD_DIR) {
  plugins.push({
    resolve: "@medusajs/admin",
    options: { serve: true, autoRebuild: false, path: "/app", outDir: env.ADMIN_BUILD_DIR },
  })
}

const modules = REDIS_URL
  ? {
      eventBus: {
        resolve: "@medusajs/event-bus-redis",
        options: REDIS_NAMESPACE
          ? { redisUrl: REDIS_URL, queueName: `${REDIS_NAMESPACE}-events-queue` }
          : { redisUrl: REDIS_URL },
      },
      cacheService: {
        resolve: "@medusajs/cache-redis",
        options: REDIS_NAMESPACE
          ? { redisUrl: REDIS_URL, namespace: REDIS_NAMESPACE }
          : { redisUrl: REDIS_URL },
      },
    }
  : {
      eventBus: { resolve: "@medusajs/event-bus-local" },
      cacheService: { resolve: "@medusajs/cache-inmemory" },
    }

const projectConfig = {
  database_url: DATABASE_URL,
  database_type: "postgres",
  store_cors: env.STORE_CORS || LOCALHOST_CORS,
  admin_cors: env.ADMIN_CORS || LOCALHOST_CORS,
  jwt_secret: env.JWT_SECRET || "medusa-stripe-demo-jwt",
  cookie_secret: env.COOKIE_SECRET || "medusa-stripe-demo-cookie",
}
if (REDIS_URL) {
  projectConfig.redis_url = REDIS_URL
  if (REDIS_NAMESPACE) {
    projectConfig.redis_prefix = `${REDIS_NAMESPACE}:`
  }
}

/** @type {import("@medusajs/medusa").ConfigModule} */
module.exports = {
  projectConfig,
  plugins,
  modules,
}
