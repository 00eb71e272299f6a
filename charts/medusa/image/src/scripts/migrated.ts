// migrated.ts - `medusa exec ./src/scripts/migrated.js` records that this version's migrations ran; `node src/scripts/migrated.js wait` blocks until they have.
//
// The setup Job's init container runs `medusa db:migrate`, then this file
// through `medusa exec`; the server's and the worker's init containers run
// `wait`, so neither starts Medusa on a database its version has not migrated
// (the worker would crash until then, and a server of a new version could
// serve from an old schema).  The record is one row per Medusa version in
// storefleet_migrated, so after an upgrade the new pods wait for the new
// version's migrations, and a restored snapshot brings back its own rows.
//
// Why through `medusa exec`: booting Medusa creates its defaults (the store,
// the default sales channel) when they are missing, by looking and then
// creating, without a lock.  Three processes booting at once on a new
// database (the setup script, the server, the worker) race there, and the
// losers die on "Price preference with attribute: currency_code, value: eur,
// already exists".  Recording only after one boot has made the defaults lets
// the others find them.
//
// `wait` is plain node with the `pg` client, no Medusa boot: it runs in a few
// MB.  It never fails: it polls until the row is there, saying every 30 s
// what it waits for.  DATABASE_URL is the one Medusa uses, sslmode included.
import type { ExecArgs } from "@medusajs/framework/types"
import { ContainerRegistrationKeys } from "@medusajs/framework/utils"
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

/* medusa exec: Medusa has booted (its defaults exist); record this version, on Medusa's own connection. */
export default async function mark({ container }: ExecArgs): Promise<void> {
  const pg = container.resolve(ContainerRegistrationKeys.PG_CONNECTION)

  await pg.raw(CREATE)
  await pg.raw(INSERT.replace("$1", "?"), [version])
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

// node src/scripts/migrated.js wait (not when medusa exec loads this file)
if (require.main === module) {
  if (!process.env.DATABASE_URL) {
    console.error("migrated: DATABASE_URL is not set")
    process.exit(2)
  }
  if (process.argv[2] !== "wait") {
    console.error("usage: node migrated.js wait (or: medusa exec ./src/scripts/migrated.js)")
    process.exit(2)
  }
  wait().then(
    () => process.exit(0),
    (e) => {
      console.error(`migrated: wait: ${e && e.message ? e.message : e}`)
      process.exit(1)
    }
  )
}
