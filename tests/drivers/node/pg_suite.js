'use strict'
// Driver suite for node-postgres (npm `pg`).
//
//   cd tests/drivers/node && npm install && node pg_suite.js
//
// Connection settings come from PGHOST, PGPORT, PGUSER, PGPASSWORD,
// PGDATABASE. SUITE_LABEL is printed in the header; SUITE_SESSION_MODE=1
// enables the checks that need a session-pooled (or direct) connection
// (LISTEN/NOTIFY).
//
// Every check prints "ok <name>", "FAIL <name>: <why>" or "skip <name>: <why>";
// the last line is "N passed, M failed" and the exit code is non-zero on any
// failure. Every query has a client-side timeout and the whole run is bounded
// by a 60 s watchdog.
//
// Not covered, on purpose: COPY (needs pg-copy-streams, and this suite adds
// no dependency beyond `pg`) and cancel requests (pg has no public cancel
// API); statement_timeout (SQLSTATE 57014) is checked instead.

// Dates without a zone (the `date` type) are parsed in local time: pin it.
process.env.TZ = 'UTC'

const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const { Client } = require('pg')

const LABEL = process.env.SUITE_LABEL || 'direct'
const SESSION_MODE = process.env.SUITE_SESSION_MODE === '1'
const SUFFIX = crypto.randomBytes(4).toString('hex')
const BUDGET_MS = 1000 * Number(process.env.SUITE_BUDGET_S || 60) // whole-run bound

let passed = 0
let failed = 0
const tables = []
const schemas = []
const openClients = new Set()

function summary() {
  console.log(`${passed} passed, ${failed} failed`)
}

const watchdog = setTimeout(() => {
  failed++
  console.log(`FAIL watchdog: suite exceeded ${BUDGET_MS / 1000} s`)
  summary()
  process.exit(2)
}, BUDGET_MS)

class CheckFailed extends Error {}

function expect(actual, expected, what = 'value') {
  try {
    assert.deepStrictEqual(actual, expected)
  } catch (e) {
    throw new CheckFailed(`${what}: expected ${show(expected)}, got ${show(actual)}`)
  }
}

function show(v) {
  if (typeof v === 'bigint') return `${v}n`
  if (Buffer.isBuffer(v)) return `Buffer<${v.toString('hex')}>`
  if (v instanceof Date) return `Date(${isNaN(v) ? 'invalid' : v.toISOString()})`
  try {
    return `${JSON.stringify(v)} (${v === null ? 'null' : typeof v})`
  } catch (e) {
    return String(v)
  }
}

async function expectSqlstate(promise, code, what = 'statement') {
  try {
    await promise
  } catch (e) {
    if (e.code !== code) {
      throw new CheckFailed(`${what}: expected SQLSTATE ${code}, got ${e.code}: ${e.message}`)
    }
    return e
  }
  throw new CheckFailed(`${what}: expected SQLSTATE ${code}, but it succeeded`)
}

function withTimeout(promise, ms, what) {
  let timer
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}

async function check(name, fn) {
  try {
    await withTimeout(fn(), 30000, 'check')
    passed++
    console.log(`ok ${name}`)
  } catch (e) {
    failed++
    const why = `${e.constructor.name}: ${e.message}`.replace(/\n/g, ' | ')
    if (!(e instanceof CheckFailed) && process.env.SUITE_DEBUG) console.error(e)
    console.log(`FAIL ${name}: ${why}`)
  }
}

function skip(name, why) {
  console.log(`skip ${name}: ${why}`)
}

// Runs a group of checks; a failure outside any check (set-up) is reported
// and counted, and the next group still runs.
async function section(name, fn) {
  try {
    await withTimeout(fn(), 45000, name)
  } catch (e) {
    failed++
    if (process.env.SUITE_DEBUG) console.error(e)
    console.log(`FAIL ${name}.setup: ${e.constructor.name}: ${e.message}`.replace(/\n/g, ' | '))
  }
}

function config(extra = {}) {
  return {
    host: process.env.PGHOST || '127.0.0.1',
    port: Number(process.env.PGPORT || 5432),
    user: process.env.PGUSER,
    password: process.env.PGPASSWORD,
    database: process.env.PGDATABASE,
    connectionTimeoutMillis: 10000,
    query_timeout: 20000,
    ...extra,
  }
}

// Connects and records every ParameterStatus the server sends.
async function connect(extra = {}) {
  const client = new Client(config(extra))
  client.paramStatus = {}
  client.connection.on('parameterStatus', (msg) => {
    client.paramStatus[msg.parameterName] = msg.parameterValue
  })
  client.on('error', () => {}) // reported through the failing query instead
  await client.connect()
  openClients.add(client)
  return client
}

async function close(client) {
  openClients.delete(client)
  await withTimeout(client.end(), 5000, 'client.end').catch(() => client.connection.stream.destroy())
}

async function scalar(client, text, values) {
  const res = await client.query({ text, values, rowMode: 'array' })
  return res.rows[0][0]
}

const qi = (name) => '"' + name.replace(/"/g, '""') + '"'
const ql = (text) => "'" + text.replace(/'/g, "''") + "'"

async function table(purpose, columns) {
  const name = `drv_node_${SUFFIX}_${purpose}`
  const c = await connect()
  try {
    await c.query(`CREATE TABLE ${qi(name)} (${columns})`)
  } finally {
    await close(c)
  }
  tables.push(name)
  return [qi(name), name]
}

// ---------------------------------------------------------------- 1. types

const TS = new Date('2024-02-29T12:34:56.789Z')
const UU = '6f1c2a4e-9b3d-4c5e-8f70-0123456789ab'
const JOBJ = { n: null, a: [1, 2, { b: 'ü' }] }
const JTEXT = '{"a": [1, 2, {"b": "ü"}], "n": null}'
const UNI = 'héllo wörld ✓ 日本語 🐘 \'q\' "dq" \\ end'
const TEXTS = ['a', 'b c', 'ü', 'say "hi"', 'back\\slash', null, '', 'NULL']
const TEXTS_OUT = '{a,"b c",ü,"say \\"hi\\"","back\\\\slash",NULL,"","NULL"}'
const BYTES = Buffer.from([0x00, 0x01, 0xff, 0x80, 0x61, 0x62, 0x63, 0x27, 0x5c])
const IV_TEXT = '3 days 04:05:06.000007'
const plainInterval = (v) => (v && typeof v.toPostgres === 'function' ? v.toPostgres() : v)

// name, sql type, parameter, expected decoded value, server text expression
// ($1 is the parameter), expected server text, literal (null: skip),
// optional mapping of the decoded value before comparison
const TEXT_CASES = [
  ['int2', 'int2', 32767, 32767, '($1::int2)::text', '32767', '32767'],
  ['int4', 'int4', -2147483648, -2147483648, '($1::int4)::text', '-2147483648', '-2147483648'],
  // pg returns int8 and numeric as strings (no precision loss)
  ['int8', 'int8', 9223372036854775807n, '9223372036854775807', '($1::int8)::text', '9223372036854775807',
    '9223372036854775807'],
  ['numeric', 'numeric', '-12345678901234567890.000123456789', '-12345678901234567890.000123456789',
    '($1::numeric)::text', '-12345678901234567890.000123456789', '-12345678901234567890.000123456789'],
  ['float8', 'float8', 3.141592653589793, 3.141592653589793, '($1::float8)::text', '3.141592653589793',
    '3.141592653589793'],
  ['text', 'text', UNI, UNI, "$1::text || ''", UNI, UNI],
  ['bytea', 'bytea', BYTES, BYTES, '($1::bytea)::text', '\\x0001ff80616263275c', '\\x0001ff80616263275c'],
  ['bool_true', 'bool', true, true, '($1::bool)::text', 'true', 't'],
  ['bool_false', 'bool', false, false, '($1::bool)::text', 'false', 'f'],
  ['date', 'date', new Date(2024, 1, 29), new Date('2024-02-29T00:00:00Z'), '($1::date)::text', '2024-02-29',
    '2024-02-29'],
  ['timestamptz', 'timestamptz', TS, TS,
    "to_char(($1::timestamptz) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')", '2024-02-29 12:34:56.789000',
    '2024-02-29 12:34:56.789+00'],
  ['interval', 'interval', IV_TEXT, '6.000007 seconds 5 minutes 4 hours 3 days', '($1::interval)::text', IV_TEXT,
    IV_TEXT, plainInterval],
  ['uuid', 'uuid', UU, UU, '($1::uuid)::text', UU, UU],
  ['json', 'json', JOBJ, JOBJ, '($1::json)::jsonb::text', JTEXT, JTEXT],
  ['jsonb', 'jsonb', JOBJ, JOBJ, '($1::jsonb)::text', JTEXT, JTEXT],
  ['int4_array', 'int4[]', [1, null, -3], [1, null, -3], '($1::int4[])::text', '{1,NULL,-3}', '{1,NULL,-3}'],
  ['text_array', 'text[]', TEXTS, TEXTS, '($1::text[])::text', TEXTS_OUT, TEXTS_OUT],
  ['null', 'int4', null, null, '(($1::int4) IS NULL)::text', 'true', null],
]

async function checkTypes() {
  const c = await connect()
  for (const [name, typ, param, value, texpr, text, literal, map] of TEXT_CASES) {
    const m = map || ((v) => v)
    await check(`types.text.${name}`, async () => {
      expect(m(await scalar(c, `SELECT $1::${typ}`, [param])), value, 'round trip')
      expect(await scalar(c, `SELECT ${texpr}`, [param]), text, 'server text')
      if (literal !== null) {
        expect(m(await scalar(c, `SELECT ${ql(literal)}::${typ}`)), value, 'decode literal')
      }
    })
  }
  await close(c)
  // pg-protocol decodes every DataRow field as UTF-8 text ("binary mode not
  // supported yet"), so results in binary format cannot be checked with pg.
  // Parameters do go binary: a Buffer (bytea above) is sent with format 1.
  skip('types.binary', 'pg cannot decode binary-format results')
}

// ------------------------------------------------------ 2. prepared statements

async function checkPrepared() {
  const c = await connect()

  await check('prepared.named_repeated_200', async () => {
    for (let i = 0; i < 200; i++) {
      const res = await c.query({
        name: 'drv_double',
        text: "SELECT $1::int4 * 2 AS doubled, $2::text || '!' AS bang",
        values: [i, `v${i}`],
      })
      expect(res.rows, [{ doubled: i * 2, bang: `v${i}!` }], `iteration ${i}`)
    }
  })

  await check('prepared.named_interleaved_two', async () => {
    for (let i = 0; i < 100; i++) {
      const a = await c.query({ name: 'drv_a', text: 'SELECT $1::int8 + 1000 AS v', values: [i], rowMode: 'array' })
      const b = await c.query({ name: 'drv_b', text: 'SELECT upper($1::text) AS v', values: [`x${i}é`], rowMode: 'array' })
      expect(a.rows[0][0], String(i + 1000), `stmt A iteration ${i}`)
      expect(b.rows[0][0], `X${i}É`, `stmt B iteration ${i}`)
    }
  })

  await check('prepared.unnamed_repeated', async () => {
    // unnamed statements: Parse/Bind/Execute/Sync every time
    for (let i = 0; i < 100; i++) {
      const res = await c.query({ text: 'SELECT $1::int4 * 7, $2::text, $3::numeric + 0.5', values: [i, `u${i}`, i],
        rowMode: 'array' })
      expect(res.rows, [[i * 7, `u${i}`, `${i}.5`]], `iteration ${i}`)
    }
  })

  await check('prepared.error_then_reuse', async () => {
    for (const i of [1, 2, 0, 3, 0, 4]) {
      const q = { name: 'drv_div', text: 'SELECT 10 / $1::int4', values: [i], rowMode: 'array' }
      if (i === 0) {
        await expectSqlstate(c.query(q), '22012', 'division by prepared zero')
      } else {
        expect((await c.query(q)).rows[0][0], Math.floor(10 / i))
      }
    }
  })

  await check('prepared.sql_level_prepare', async () => {
    await c.query('PREPARE drv_q (int4) AS SELECT $1 * 10')
    for (let i = 0; i < 5; i++) expect(await scalar(c, `EXECUTE drv_q (${i})`), i * 10, `execute ${i}`)
    await expectSqlstate(c.query('PREPARE drv_q (int4) AS SELECT $1'), '42P05', 'duplicate')
    await c.query('DEALLOCATE drv_q')
    await expectSqlstate(c.query('EXECUTE drv_q (1)'), '26000', 'after DEALLOCATE')
    await c.query("PREPARE drv_q (text) AS SELECT $1 || '?'")
    expect(await scalar(c, "EXECUTE drv_q ('why')"), 'why?', 're-prepared with new text')
    await c.query('DEALLOCATE ALL')
    await expectSqlstate(c.query("EXECUTE drv_q ('x')"), '26000', 'after DEALLOCATE ALL')
    await c.query('PREPARE drv_q (int4) AS SELECT $1 + 1')
    expect(await scalar(c, 'EXECUTE drv_q (41)'), 42, 'prepared after DEALLOCATE ALL')
    await c.query('DEALLOCATE drv_q')
  })

  await check('prepared.row_limited_portal', async () => {
    // `rows` makes pg use Execute with a row limit, then Flush for more
    const res = await c.query({ text: 'SELECT g FROM generate_series(1, $1::int4) g', values: [1000], rows: 7,
      rowMode: 'array' })
    expect(res.rows.map((r) => r[0]), Array.from({ length: 1000 }, (_, i) => i + 1), 'rows')
    expect(await scalar(c, 'SELECT 5'), 5, 'next query')
  })

  await close(c)
}

// -------------------------------------------------------------- 3. pipeline

async function checkPipeline() {
  const [t] = await table('pipe', 'id int PRIMARY KEY, v text')
  const c = await connect({ pipeline: true })

  await check('pipeline.inserts_then_select', async () => {
    const ps = []
    for (let i = 0; i < 100; i++) ps.push(c.query(`INSERT INTO ${t} (id, v) VALUES ($1, $2)`, [i, `v${i}`]))
    const last = c.query({ text: `SELECT count(*)::int, sum(id)::int, max(v) FROM ${t}`, rowMode: 'array' })
    const squares = []
    for (let i = 0; i < 20; i++) {
      squares.push(c.query({ name: i % 2 ? 'drv_sq' : undefined, text: 'SELECT $1::int4 * $1::int4',
        values: [i], rowMode: 'array' }))
    }
    const inserted = await Promise.all(ps)
    expect(inserted.map((r) => r.rowCount), Array(100).fill(1), 'insert counts')
    expect((await last).rows, [[100, 4950, 'v99']], 'select after inserts')
    expect((await Promise.all(squares)).map((r) => r.rows[0][0]), Array.from({ length: 20 }, (_, i) => i * i),
      'squares')
  })

  await check('pipeline.error_isolated', async () => {
    // pg sends a Sync after every query, so each is its own implicit
    // transaction: only the failing one is lost
    const a = c.query(`INSERT INTO ${t} (id, v) VALUES (1000, 'a')`)
    const b = c.query('SELECT 1 / $1::int4', [0])
    const d = c.query(`INSERT INTO ${t} (id, v) VALUES (1001, 'b')`)
    const results = await Promise.allSettled([a, b, d])
    expect(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled'], 'outcomes')
    expect(results[1].reason.code, '22012', 'sqlstate')
    expect(await scalar(c, `SELECT count(*)::int FROM ${t} WHERE id >= 1000`), 2, 'rows')
  })

  await check('pipeline.transaction', async () => {
    const ps = [c.query('BEGIN')]
    for (let i = 2000; i < 2010; i++) ps.push(c.query(`INSERT INTO ${t} (id, v) VALUES ($1, 'tx')`, [i]))
    ps.push(c.query('ROLLBACK'))
    await Promise.all(ps)
    expect(await scalar(c, `SELECT count(*)::int FROM ${t} WHERE v = 'tx'`), 0, 'rolled back rows')
  })

  await check('pipeline.multi_statement_simple_query', async () => {
    const res = await c.query("SELECT 1 AS a; SELECT 'x' AS b, 2 AS c")
    expect(res.map((r) => r.rows), [[{ a: 1 }], [{ b: 'x', c: 2 }]], 'results')
  })

  await close(c)
}

// ---------------------------------------------------------- 4. transactions

async function checkTransactions() {
  const [t] = await table('tx', 'id int PRIMARY KEY, v text')
  const c = await connect()
  const other = await connect()
  // a failed check must not leave its transaction open for the next one
  const txCheck = async (name, fn) => {
    await check(name, fn)
    if (c.getTransactionStatus() !== 'I') await c.query('ROLLBACK').catch(() => {})
  }
  const count = (client, id) => scalar(client, `SELECT count(*)::int FROM ${t} WHERE id = $1`, [id])
  const insert = `INSERT INTO ${t} (id, v) VALUES ($1, $2)`

  await txCheck('tx.commit_visible', async () => {
    await c.query('BEGIN')
    await c.query(insert, [1, 'one'])
    expect(c.getTransactionStatus(), 'T', 'status')
    expect(await count(other, 1), 0, 'visible to others before commit')
    await c.query('COMMIT')
    expect(c.getTransactionStatus(), 'I', 'status')
    expect(await count(other, 1), 1, 'visible to others after commit')
  })

  await txCheck('tx.rollback_invisible', async () => {
    await c.query('BEGIN')
    await c.query(insert, [2, 'two'])
    expect(await count(c, 2), 1, 'inside the transaction')
    await c.query('ROLLBACK')
    expect(await count(c, 2), 0, 'after rollback, same connection')
    expect(await count(other, 2), 0, 'after rollback, other connection')
  })

  await txCheck('tx.failed_statement_then_rollback', async () => {
    await c.query('BEGIN')
    await c.query(insert, [3, 'three'])
    await expectSqlstate(c.query('SELECT 1/0'), '22012', 'division')
    await expectSqlstate(c.query('SELECT 1'), '25P02', 'statement in failed tx')
    // the status comes with ReadyForQuery, read before the next query's reply
    expect(c.getTransactionStatus(), 'E', 'status')
    await c.query('ROLLBACK')
    expect(c.getTransactionStatus(), 'I', 'status')
    expect(await scalar(c, 'SELECT $1::text', ['alive']), 'alive', 'next query')
    expect(await count(c, 3), 0, 'insert of failed transaction')
  })

  await txCheck('tx.savepoint', async () => {
    await c.query('BEGIN')
    await c.query(insert, [4, 'four'])
    await c.query('SAVEPOINT s1')
    await expectSqlstate(c.query(insert, [4, 'dup']), '23505', 'duplicate')
    await c.query('ROLLBACK TO SAVEPOINT s1')
    await c.query(insert, [5, 'five'])
    await c.query('COMMIT')
    const res = await other.query({ text: `SELECT id, v FROM ${t} WHERE id IN (4, 5) ORDER BY id`, rowMode: 'array' })
    expect(res.rows, [[4, 'four'], [5, 'five']], 'rows')
  })

  await txCheck('tx.commit_of_failed_tx_rolls_back', async () => {
    await c.query('BEGIN')
    await c.query(insert, [6, 'six'])
    await expectSqlstate(c.query('SELEC'), '42601', 'syntax error')
    const res = await c.query('COMMIT')
    expect(res.command, 'ROLLBACK', 'COMMIT of a failed transaction reports')
    expect(await count(other, 6), 0, 'row')
  })

  await close(c)
  await close(other)
}

// ---------------------------------------------------------------- 6. cancel

async function checkCancel() {
  skip('cancel.pg_sleep', 'node-postgres has no public cancel API')
  await check('cancel.statement_timeout_57014', async () => {
    const c = await connect()
    await c.query("SET statement_timeout = '200ms'")
    const t0 = Date.now()
    const e = await expectSqlstate(c.query('SELECT pg_sleep(3)'), '57014', 'pg_sleep')
    expect(e.message, 'canceling statement due to statement timeout', 'message')
    if (Date.now() - t0 > 2500) throw new CheckFailed('statement_timeout did not stop the statement')
    await c.query('RESET statement_timeout')
    expect(await scalar(c, 'SELECT pg_sleep(0.3)::text'), '', 'sleep under the limit')
    await close(c)
  })
}

// -------------------------------------------------------- 7. error recovery

async function checkErrors() {
  const [t, tname] = await table('err', 'id int PRIMARY KEY, v text')
  const c = await connect()

  await check('errors.syntax_42601', async () => {
    const e = await expectSqlstate(c.query('SELEC 1'), '42601', 'simple protocol')
    expect(e.message, 'syntax error at or near "SELEC"', 'message')
    expect(e.position, '1', 'position')
    expect(await scalar(c, 'SELECT 1'), 1, 'next query')
    await expectSqlstate(c.query('SELEC $1', [1]), '42601', 'extended protocol')
    expect(await scalar(c, 'SELECT $1::int4', [2]), 2, 'next query')
  })

  await check('errors.division_22012', async () => {
    await expectSqlstate(c.query('SELECT 1/0'), '22012', 'simple protocol')
    expect(await scalar(c, 'SELECT 3'), 3, 'next query')
    await expectSqlstate(c.query('SELECT 1/$1::int4', [0]), '22012', 'extended protocol')
    expect(await scalar(c, 'SELECT $1::int4', [4]), 4, 'next query')
  })

  await check('errors.unique_23505', async () => {
    await c.query(`INSERT INTO ${t} VALUES (1, 'a')`)
    const e = await expectSqlstate(c.query(`INSERT INTO ${t} VALUES (1, 'b')`), '23505', 'simple protocol')
    expect(e.constraint, `${tname}_pkey`, 'constraint name')
    expect(e.table, tname, 'table name')
    expect(e.detail, 'Key (id)=(1) already exists.', 'detail')
    await expectSqlstate(c.query(`INSERT INTO ${t} VALUES ($1, $2)`, [1, 'c']), '23505', 'extended protocol')
    const res = await c.query({ text: `SELECT id, v FROM ${t}`, rowMode: 'array' })
    expect(res.rows, [[1, 'a']], 'table')
  })

  await check('errors.undefined_table_42P01', async () => {
    await expectSqlstate(c.query(`SELECT * FROM drv_node_${SUFFIX}_missing`), '42P01', 'select')
    expect(await scalar(c, "SELECT 'ok'"), 'ok', 'next query')
  })

  await check('errors.multi_statement', async () => {
    await expectSqlstate(c.query(`INSERT INTO ${t} VALUES (10, 'x'); SELECT 1/0; INSERT INTO ${t} VALUES (11, 'y')`),
      '22012', 'multi-statement')
    expect(await scalar(c, `SELECT count(*)::int FROM ${t} WHERE id >= 10`), 0,
      'rows of the failed multi-statement query')
  })

  await check('errors.notice_passthrough', async () => {
    const got = []
    const onNotice = (msg) => got.push([msg.severity, msg.message])
    c.on('notice', onNotice)
    await c.query("DO $$ BEGIN RAISE NOTICE 'hello %', 42; END $$")
    c.off('notice', onNotice)
    expect(got, [['NOTICE', 'hello 42']], 'notices')
  })

  await check('errors.lock_timeout_nonsense', async () => {
    // ruby-pg style sequence: extended, simple, a failing SET, then more
    expect(await scalar(c, 'SELECT $1::int4', [1]), 1, 'extended')
    expect(await scalar(c, 'SELECT 1'), 1, 'simple')
    await expectSqlstate(c.query("SET lock_timeout TO 'nonsense'"), '22023', 'bad SET')
    expect(await scalar(c, 'SHOW lock_timeout'), '0', 'lock_timeout unchanged')
  })

  await close(c)
}

// --------------------------------------------------------- 8. session state

async function checkSession() {
  const schema = `drv_node_${SUFFIX}_s`
  const setup = await connect()
  await setup.query(`CREATE SCHEMA ${qi(schema)}`)
  schemas.push(schema)
  await setup.query(`CREATE TABLE ${qi(schema)}.sp_probe (v text)`)
  await setup.query(`INSERT INTO ${qi(schema)}.sp_probe VALUES ('in schema')`)
  await close(setup)

  const c = await connect()
  const show = (name) => scalar(c, `SHOW ${name}`)

  await check('session.application_name', async () => {
    await c.query("SET application_name = 'drv_app_one'")
    expect(await show('application_name'), 'drv_app_one', 'SHOW')
    expect(await scalar(c, 'SELECT current_setting($1)', ['application_name']), 'drv_app_one', 'current_setting')
    expect(c.paramStatus.application_name, 'drv_app_one', 'ParameterStatus')
    await c.query("SELECT set_config('application_name', 'drv_app_two', false)")
    expect(await show('application_name'), 'drv_app_two', 'after set_config')
    expect(c.paramStatus.application_name, 'drv_app_two', 'ParameterStatus after set_config')
  })

  await check('session.search_path', async () => {
    const dflt = await show('search_path')
    expect(dflt, '"$user", public', 'default')
    await c.query(`SET search_path TO ${qi(schema)}, public`)
    expect(await show('search_path'), `${schema}, public`, 'SHOW')
    for (let i = 0; i < 5; i++) {
      expect(await scalar(c, 'SELECT v FROM sp_probe'), 'in schema', 'unqualified name')
    }
    await c.query('RESET search_path')
    expect(await show('search_path'), dflt, 'after RESET')
    await expectSqlstate(c.query('SELECT v FROM sp_probe'), '42P01', 'after RESET')
    await c.query("SELECT set_config('search_path', $1, false)", [schema])
    expect(await scalar(c, 'SELECT v FROM sp_probe'), 'in schema', 'after set_config')
    await c.query('RESET search_path')
  })

  await check('session.statement_timeout_reset', async () => {
    const before = await show('statement_timeout')
    await c.query("SET statement_timeout = '1234ms'")
    expect(await show('statement_timeout'), '1234ms', 'SHOW')
    await c.query('RESET statement_timeout')
    expect(await show('statement_timeout'), before, 'after RESET')
    await c.query("SET statement_timeout = '1min'")
    await c.query('RESET ALL')
    expect(await show('statement_timeout'), before, 'after RESET ALL')
  })

  await check('session.set_in_rolled_back_tx', async () => {
    await c.query("SET application_name = 'before_tx'")
    await c.query('BEGIN')
    await c.query("SET application_name = 'inside_tx'")
    await c.query('SET search_path = pg_catalog')
    expect(await show('application_name'), 'inside_tx', 'inside')
    await c.query('ROLLBACK')
    expect(await show('application_name'), 'before_tx', 'after ROLLBACK')
    expect(await show('search_path'), '"$user", public', 'search_path after ROLLBACK')
    expect(c.paramStatus.application_name, 'before_tx', 'ParameterStatus after ROLLBACK')
  })

  await check('session.set_local_and_commit', async () => {
    await c.query("SET application_name = 'outer'")
    await c.query('BEGIN')
    await c.query("SET LOCAL application_name = 'local'")
    expect(await show('application_name'), 'local', 'inside')
    await c.query('COMMIT')
    expect(await show('application_name'), 'outer', 'SET LOCAL after COMMIT')
    await c.query('BEGIN')
    await c.query("SET application_name = 'committed'")
    await c.query('COMMIT')
    expect(await show('application_name'), 'committed', 'SET after COMMIT')
  })

  await check('session.reset_in_rolled_back_tx', async () => {
    await c.query("SET search_path = ''")
    await c.query('BEGIN')
    await c.query('RESET search_path')
    expect(await show('search_path'), '"$user", public', 'inside')
    await c.query('ROLLBACK')
    expect(await show('search_path'), '""', 'after ROLLBACK')
    await c.query('RESET search_path')
  })

  await check('session.startup_parameters', async () => {
    // pg sends application_name and statement_timeout in the startup packet
    const s = await connect({ application_name: 'drv_startup', statement_timeout: 4321 })
    expect(await scalar(s, 'SHOW application_name'), 'drv_startup', 'application_name')
    expect(await scalar(s, 'SHOW statement_timeout'), '4321ms', 'statement_timeout')
    expect(s.paramStatus.application_name, 'drv_startup', 'ParameterStatus')
    await s.query("SET application_name = 'changed'")
    await s.query('RESET application_name')
    expect(await scalar(s, 'SHOW application_name'), 'drv_startup', 'RESET goes to the startup value')
    await s.query('RESET ALL')
    expect(await scalar(s, 'SHOW statement_timeout'), '4321ms', 'RESET ALL keeps startup values')
    await close(s)
  })

  await check('session.server_version', async () => {
    const s = await connect()
    for (const p of ['server_version', 'server_encoding', 'client_encoding', 'DateStyle', 'IntervalStyle',
      'TimeZone', 'integer_datetimes', 'standard_conforming_strings', 'is_superuser', 'session_authorization',
      'application_name']) {
      if (!(p in s.paramStatus)) throw new CheckFailed(`no ${p} ParameterStatus`)
      expect(s.paramStatus[p], await scalar(s, `SHOW ${p}`), p)
    }
    await close(s)
  })

  await close(c)
}

// ------------------------------------------------------------ 9. LISTEN

async function checkListen() {
  if (!SESSION_MODE) {
    skip('listen.notify', 'needs SUITE_SESSION_MODE=1 (transaction pooling)')
    return
  }
  await check('listen.notify', async () => {
    const listener = await connect()
    const chan = `drv_node_${SUFFIX}`
    const got = []
    const done = new Promise((resolve) => {
      listener.on('notification', (msg) => {
        got.push([msg.channel, msg.payload])
        if (got.length === 2) resolve()
      })
    })
    await listener.query(`LISTEN ${qi(chan)}`)
    const sender = await connect()
    await sender.query('SELECT pg_notify($1, $2)', [chan, 'payload ü 1'])
    await sender.query(`NOTIFY ${qi(chan)}, 'payload 2'`)
    await close(sender)
    await withTimeout(done, 5000, 'notifications')
    expect(got, [[chan, 'payload ü 1'], [chan, 'payload 2']], 'notifications')
    await close(listener)
  })
}

// ------------------------------------------------------- 11. concurrency

async function checkConcurrency() {
  const nClients = 20
  const nQueries = 50
  await check(`concurrency.${nClients}x${nQueries}_application_name`, async () => {
    const client = async (i) => {
      const c = await connect()
      try {
        let name = `drv_c${i}`
        await c.query(`SET application_name = ${ql(name)}`)
        for (let q = 0; q < nQueries; q++) {
          if (q && q % 10 === 0) {
            name = `drv_c${i}_${q}`
            await c.query(`SET application_name = ${ql(name)}`)
          }
          const got = await scalar(c, 'SHOW application_name')
          if (got !== name) throw new CheckFailed(`client ${i} query ${q}: SHOW application_name = ${got}, expected ${name}`)
          const v = (await c.query({ name: q % 2 ? 'drv_mix' : undefined, text: 'SELECT $1::int4 * 3 + $2::int4',
            values: [i, q], rowMode: 'array' })).rows[0][0]
          if (v !== i * 3 + q) throw new CheckFailed(`client ${i} query ${q}: got ${v}`)
        }
      } finally {
        await close(c)
      }
    }
    const results = await Promise.allSettled(Array.from({ length: nClients }, (_, i) => client(i)))
    const errs = results.filter((r) => r.status === 'rejected')
    if (errs.length) throw new CheckFailed(`${errs.length} client(s) failed; first: ${errs[0].reason.message}`)
  })
}

// ------------------------------------------------------------------ main

async function cleanup() {
  try {
    const c = await connect()
    for (const t of tables) await c.query(`DROP TABLE IF EXISTS ${qi(t)}`)
    for (const s of schemas) await c.query(`DROP SCHEMA IF EXISTS ${qi(s)} CASCADE`)
    await close(c)
  } catch (e) {
    console.log(`# cleanup failed: ${e.message}`)
  }
}

async function main() {
  const version = require('pg/package.json').version
  console.log(`# pg ${version} suite [${LABEL}] ${process.env.PGHOST}:${process.env.PGPORT} run ${SUFFIX}`)
  await check('connect', async () => {
    const c = await connect()
    expect(await scalar(c, 'SELECT 1'), 1)
    await close(c)
  })
  if (failed === 0) {
    try {
      await section('types', checkTypes)
      await section('prepared', checkPrepared)
      await section('pipeline', checkPipeline)
      await section('tx', checkTransactions)
      skip('copy', 'needs pg-copy-streams; this suite depends on `pg` only')
      await section('cancel', checkCancel)
      await section('errors', checkErrors)
      await section('session', checkSession)
      await section('listen', checkListen)
      await section('concurrency', checkConcurrency)
    } finally {
      await withTimeout(cleanup(), 10000, 'cleanup').catch((e) => console.log(`# ${e.message}`))
    }
  }
  for (const c of openClients) c.connection.stream.destroy()
  clearTimeout(watchdog)
  summary()
  process.exit(failed ? 1 : 0)
}

main().catch((e) => {
  failed++
  console.log(`FAIL main: ${e.message}`)
  summary()
  process.exit(1)
})
