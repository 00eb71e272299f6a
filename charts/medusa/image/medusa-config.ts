// medusa-config.ts - storefleet's Medusa configuration: everything a store differs by comes from the environment.
//
// The chart (charts/medusa/manifests) sets the variables; the same image runs
// every store, the server, the worker and the setup Job.  What decides whether
// Medusa works in a cluster, and is therefore set here rather than left to
// Medusa's defaults:
//
//  - DATABASE_URL carries `sslmode` (values.yaml postgres.sslmode): Medusa turns
//    TLS on for any host but localhost/127.0.0.1 unless the URL says
//    sslmode=disable, and the store's own PostgreSQL has no TLS.
//  - REDIS_URL alone wires only the session store.  The event bus, workflow
//    engine, locking and cache would stay in memory, one copy per process, so
//    an event the server emits would never reach the worker's subscribers.
//    The four Redis modules below fail at start when REDIS_URL is missing
//    instead of falling back to memory.
//  - With NODE_ENV=production Medusa marks the session cookie Secure; over
//    plain HTTP (the local overlay) the browser then drops it and admin login
//    fails.  MEDUSA_COOKIE_SECURE (true/false, set by the chart from
//    tls.enabled) decides.
//  - Uploads go to <working directory>/static, the only folder Medusa serves
//    under /static, which the chart mounts from a volume; or to an S3 bucket
//    when S3_BUCKET is set.
//
// `medusa build` loads this file without any of these variables (the image is
// built once for every store), so nothing here may fail at load time.  The
// admin's backend URL is compiled into the dashboard: it stays "/" (same
// origin) so one build serves every store's host.  No .env file is read: the
// environment is the chart's, nothing else.
import path from "path"
import { defineConfig } from "@medusajs/framework/utils"

const env = process.env
const redisUrl = env.REDIS_URL
const backendUrl = (env.MEDUSA_BACKEND_URL || "").replace(/\/+$/, "")

/* "true"/"false" from the environment; undefined when unset (Medusa's default then). */
function flag(name: string): boolean | undefined {
  const v = env[name]

  if (v === undefined || v === "") {
    return undefined
  }
  if (v !== "true" && v !== "false") {
    throw new Error(`medusa-config: ${name} must be "true" or "false", not "${v}"`)
  }
  return v === "true"
}

/* server, worker or shared (Medusa's default) - how the chart splits one image in two. */
function workerMode(): "server" | "worker" | "shared" {
  const m = env.MEDUSA_WORKER_MODE || "shared"

  if (m !== "server" && m !== "worker" && m !== "shared") {
    throw new Error(`medusa-config: MEDUSA_WORKER_MODE must be server, worker or shared, not "${m}"`)
  }
  return m
}

const cookieSecure = flag("MEDUSA_COOKIE_SECURE")

/* Object storage when a bucket is named, else the volume at ./static. */
const fileProvider = env.S3_BUCKET
  ? {
      resolve: "@medusajs/medusa/file-s3",
      id: "s3",
      options: {
        file_url: env.S3_FILE_URL,
        access_key_id: env.S3_ACCESS_KEY_ID,
        secret_access_key: env.S3_SECRET_ACCESS_KEY,
        region: env.S3_REGION,
        bucket: env.S3_BUCKET,
        endpoint: env.S3_ENDPOINT,
        additional_client_config: { forcePathStyle: flag("S3_FORCE_PATH_STYLE") ?? false },
      },
    }
  : {
      resolve: "@medusajs/medusa/file-local",
      id: "local",
      options: {
        upload_dir: path.join(process.cwd(), "static"),
        private_upload_dir: path.join(process.cwd(), "static"),
        backend_url: `${backendUrl}/static`,
      },
    }

module.exports = defineConfig({
  projectConfig: {
    databaseUrl: env.DATABASE_URL,
    redisUrl,
    workerMode: workerMode(),
    http: {
      storeCors: env.STORE_CORS || "",
      adminCors: env.ADMIN_CORS || "",
      authCors: env.AUTH_CORS || "",
      jwtSecret: env.JWT_SECRET,
      cookieSecret: env.COOKIE_SECRET,
    },
    ...(cookieSecure === undefined
      ? {}
      : { cookieOptions: { secure: cookieSecure, sameSite: "lax" as const } }),
  },
  admin: {
    disable: flag("DISABLE_MEDUSA_ADMIN") ?? false,
    backendUrl: "/",
  },
  modules: [
    {
      resolve: "@medusajs/medusa/event-bus-redis",
      options: {
        redisUrl,
        // finished jobs are kept for an hour (at most 1000) for inspection, then dropped
        jobOptions: {
          removeOnComplete: { age: 3600, count: 1000 },
          removeOnFail: { age: 3600, count: 1000 },
        },
      },
    },
    {
      resolve: "@medusajs/medusa/workflow-engine-redis",
      options: { redis: { redisUrl } },
    },
    {
      resolve: "@medusajs/medusa/locking",
      options: {
        providers: [
          {
            resolve: "@medusajs/medusa/locking-redis",
            id: "locking-redis",
            is_default: true,
            options: { redisUrl },
          },
        ],
      },
    },
    {
      // The Cache Module the core uses in 2.21 (its successor, the Caching
      // Module, is behind the `caching` feature flag, off by default).
      resolve: "@medusajs/medusa/cache-redis",
      options: { redisUrl },
    },
    {
      resolve: "@medusajs/medusa/file",
      options: { providers: [fileProvider] },
    },
  ],
})
