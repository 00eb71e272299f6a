// migrated.ts - `node migrated.js mark` records that this image's migrations ran; `wait` blocks until they have.
//
// The setup Job's first container runs `medusa db:migrate` and then `mark`;
// the server's and the worker's init containers run `wait`, so neither starts
// Medusa on a database its version has not migrated (the worker would crash
// until then, and a server of a new version could serve from an old schema).
// The record is one row per Medusa version in storefleet_migrated, so after
// an upgrade the new pods wait for the new version's migrations, and a
// restored snapshot brings back its own rows.  `wait` never fails: it polls
// until the row is there, saying every 30 s what it waits for.
//
// Plain node with the `pg` client, no Medusa boot: it runs in a few MB and a
// fraction of a second.  DATABASE_URL is the one Medusa uses, sslmode included.
import { Client } from "pg"

// eslint-disable-next-line @typescript-eslint/no-var-requires
const version: string = require("@medusajs/medusa/package.json").version

const CREATE = `CREATE TABLE IF NOT EXISTS storefleet_migrated (
	medusa_version text PRIMARY KEY,
	migrated_at timestamptz NOT NULL DEFAULT now())`
const INSERT = "INSERT INTO storefleet_migrated (medusa_version) VALUES ($1) ON CONFLICT DO NOTHING"
const SELECT = "SELECT migrated_at FROM storefleet_migrated WHERE medusa_version = $1"

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/* Runs fn with a connected client, closed afterwards whatever happens. */
async function withClient<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: process.env.DATABASE_URL, connectionTimeoutMillis: 5000 })

  await c.connect()
  try {
    return await fn(c)
  } finally {
    await c.end().catch(() => undefined)
  }
}

async function mark(): Promise<void> {
  await withClient(async (c) => {
    await c.query(CREATE)
    await c.query(INSERT, [version])
  })
  console.log(`migrated: recorded the migrations of Medusa ${version}`)
}

/* Whether this version's row exists: false while the table or the row is missing. */
async function isMarked(): Promise<boolean> {
  return withClient(async (c) => {
    try {
      return (await c.query(SELECT, [version])).rowCount === 1
    } catch (e: any) {
      if (e && e.code === "42P01") {
        return false // undefined_table: no migration has been recorded yet
      }
      throw e
    }
  })
}

async function wait(): Promise<void> {
  const started = Date.now()
  let said = 0

  for (;;) {
    let why = "the setup Job has not recorded them yet"

    try {
      if (await isMarked()) {
        console.log(`migrated: the migrations of Medusa ${version} have run`)
        return
      }
    } catch (e: any) {
      why = `the database does not answer: ${e && e.message ? e.message : e}`
    }
    if (Date.now() - said >= 30000) {
      const secs = Math.round((Date.now() - started) / 1000)

      console.log(`migrated: waiting for the migrations of Medusa ${version} (${secs} s): ${why}`)
      said = Date.now()
    }
    await sleep(2000)
  }
}

const cmd = process.argv[2]

if (!process.env.DATABASE_URL) {
  console.error("migrated: DATABASE_URL is not set")
  process.exit(2)
}
if (cmd !== "mark" && cmd !== "wait") {
  console.error("usage: node migrated.js mark|wait")
  process.exit(2)
}
;(cmd === "mark" ? mark() : wait()).then(
  () => process.exit(0),
  (e) => {
    console.error(`migrated: ${cmd}: ${e && e.message ? e.message : e}`)
    process.exit(1)
  }
)
