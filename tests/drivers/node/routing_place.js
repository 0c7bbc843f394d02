'use strict'
// Writes rows through one connection with node-postgres, then reads each one
// back by its key; tests/integration/test_routing_drivers.py checks where the
// rows landed.
//
//   node routing_place.js < plan
//
// Connection settings come from PGHOST, PGPORT, PGUSER, PGPASSWORD,
// PGDATABASE. Each plan line is "<table> <how> <key> <value>":
//
//   users <how> <user_id> <name>   into rd_users (user_id bigint, name text)
//   tenants <how> <tenant> <n>     into rd_tenants (tenant text, n int)
//
// where <how> is
//   text     parameters in text format (node-postgres sends every value that
//            is not a Buffer as text)
//   binary   the key as a Buffer, which node-postgres binds in binary format:
//            int8 big-endian for rd_users (the server infers int8 from the
//            column), the UTF-8 bytes for rd_tenants
//   binary4  the key as a binary int4 bound to `$1::int4` (rd_users only)
//   named    like binary, through one named prepared statement
//   tx       text parameters inside BEGIN ... COMMIT, one transaction per row
//
// Output, one line per row found: "read-text <table> <key> <value>" for the
// read by a text parameter and "read-binary <table> <key> <value>" for the
// read by a binary one; a key with no row prints "<mode> <table> <key> -".
// Any error ends the run with a message on stderr and exit code 1; the run
// stops itself after 60 s.

const { Client } = require('pg')

const BUDGET_MS = 60000

const INSERTS = {
  users: {
    plain: 'INSERT INTO rd_users (user_id, name) VALUES ($1, $2)',
    int4: 'INSERT INTO rd_users (user_id, name) VALUES ($1::int4, $2)',
  },
  tenants: {
    plain: 'INSERT INTO rd_tenants (tenant, n) VALUES ($1, $2)',
  },
}

const READS = {
  users: 'SELECT user_id::text, name FROM rd_users WHERE user_id = $1',
  tenants: 'SELECT tenant, n::text FROM rd_tenants WHERE tenant = $1',
}

function int8Buffer(key) {
  const b = Buffer.alloc(8)
  b.writeBigInt64BE(BigInt(key))
  return b
}

function int4Buffer(key) {
  const b = Buffer.alloc(4)
  b.writeInt32BE(Number(key))
  return b
}

// The key in binary format: int8 for rd_users, UTF-8 bytes for rd_tenants.
function binaryKey(table, key) {
  return table === 'users' ? int8Buffer(key) : Buffer.from(key, 'utf8')
}

async function insert(client, { table, how, key, value }) {
  const sql = INSERTS[table]
  switch (how) {
    case 'text':
      return client.query(sql.plain, [key, value])
    case 'binary':
      return client.query(sql.plain, [binaryKey(table, key), value])
    case 'binary4':
      return client.query(sql.int4, [int4Buffer(key), value])
    case 'named':
      return client.query({ name: `rd_${table}_insert`, text: sql.plain,
                            values: [binaryKey(table, key), value] })
    case 'tx':
      await client.query('BEGIN')
      await client.query(sql.plain, [key, value])
      return client.query('COMMIT')
    default:
      throw new Error(`unknown way of inserting: ${how}`)
  }
}

async function readBack(client, { table, key }) {
  for (const [mode, param] of [['read-text', key], ['read-binary', binaryKey(table, key)]]) {
    const result = await client.query({ text: READS[table], values: [param], rowMode: 'array' })
    if (result.rows.length === 0) {
      console.log(`${mode} ${table} ${key} -`)
    }
    for (const [k, v] of result.rows) {
      console.log(`${mode} ${table} ${k} ${v}`)
    }
  }
}

async function readPlan() {
  let text = ''
  process.stdin.setEncoding('utf8')
  for await (const chunk of process.stdin) {
    text += chunk
  }
  return text.split('\n').filter((line) => line.trim() !== '').map((line) => {
    const [table, how, key, value] = line.trim().split(' ')
    return { table, how, key, value }
  })
}

async function main() {
  const plan = await readPlan()
  const client = new Client({
    connectionTimeoutMillis: 10000,
    query_timeout: 20000,
  })
  await client.connect()
  try {
    for (const row of plan) {
      await insert(client, row)
    }
    for (const row of plan) {
      await readBack(client, row)
    }
  } finally {
    await client.end()
  }
}

const watchdog = setTimeout(() => {
  console.error(`routing_place.js: still running after ${BUDGET_MS / 1000} s`)
  process.exit(2)
}, BUDGET_MS)

main().then(() => clearTimeout(watchdog), (e) => {
  console.error(`routing_place.js: ${e.code || ''} ${e.message}`)
  process.exit(1)
})
