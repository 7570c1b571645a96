// A CDM on PostgreSQL beside an embedded one, as the official TypeScript SDK
// client sees them through a real pool: the same answers on both engines, a
// sandbox that can neither write, nor reach another database, nor find a
// credential, and sessions that choose their CDM by name.
// Usage: node stdio_pg_cdm.mjs DAEMON ANALYSES_DIR PG_CDM_SH
// The environment names the pool (STATE_DIR, DB_HOST, DB_PORT, DB_PASSWORD,
// CDM_DEFAULT=synthetic_pg, ...); CDM_DIR holds synthetic.sqlite and
// synthetic_pg.pg, the same generated rows on both engines.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const [daemon, analysesDir, pgCdm] = process.argv.slice(2);
assert.ok(daemon && analysesDir && pgCdm,
    'usage: node stdio_pg_cdm.mjs DAEMON ANALYSES_DIR PG_CDM_SH');
const password = process.env.DB_PASSWORD;
assert.ok(password && password.length >= 16, 'DB_PASSWORD must be set for the daemon');
// The parameters the synthetic CDM has rows for (hypertension; sinusitis).
const params = { condition_concept_id: 320128, ancestor_concept_id: 134057 };

let passed = 0;
async function step(name, fn) {
    const began = Date.now();
    await fn();
    passed++;
    console.log(`ok   ${name} (${Date.now() - began} ms)`);
}

// psql on the host as the cluster's owner: what the database really holds.
function hostCount(table) {
    return Number(execFileSync('bash', [pgCdm, 'psql', 'synthetic_pg', '-At', '-c',
        `SELECT count(*) FROM ${table}`], { encoding: 'utf8' }).trim());
}

const transport = new StdioClientTransport({
    command: daemon, args: ['--stdio'], env: process.env, stderr: 'pipe',
});
let stderr = '';
transport.stderr.on('data', (chunk) => { stderr += chunk; });
const client = new Client({ name: 'omcp-pg-cdm-test', version: '1.0.0' });

async function call(name, args) {
    const result = await client.callTool({ name, arguments: args });
    assert.deepEqual(JSON.parse(result.content[0].text), result.structuredContent, `${name} text`);
    return result;
}

async function ok(name, args) {
    const result = await call(name, args);
    assert.equal(result.isError, false, `${name}: ${result.content[0].text}`);
    return result.structuredContent;
}

async function fails(name, args, code) {
    const result = await call(name, args);
    assert.equal(result.isError, true, `${name} should fail with ${code}`);
    assert.equal(result.structuredContent.error.code, code, result.content[0].text);
    return result.structuredContent;
}

const exec = (session_id, code) => ok('execute_in_session', { session_id, code });
// R that answers with one JSON text, parsed here.
const execJson = async (session_id, code) => JSON.parse((await exec(session_id,
    `as.character(jsonlite::toJSON(local({${code}}), auto_unbox = TRUE, null = "null"))`)).value);

// Every analysis file with its parameters written in, as psql -v would.
function analyses() {
    return readdirSync(analysesDir).filter((f) => f.endsWith('.sql')).sort().map((file) => {
        const sql = readFileSync(join(analysesDir, file), 'utf8')
            .replace(/(?<!:):([a-z_]+)/g, (m, name) => (name in params ? String(params[name]) : m));
        return { file, sql };
    });
}

// Numbers (and numeric text) to two decimals, so that an integer count and
// PostgreSQL's numeric compare as values.
function normal(rows) {
    return rows.map((row) => row.map((v) => {
        if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v))
            v = Number(v);
        return typeof v === 'number' ? Math.round(v * 100) / 100 : v;
    }));
}

async function main() {
    let pg, lite;

    await step('initialize; the pool warms with the PostgreSQL CDM as default', async () => {
        await client.connect(transport);
        for (let i = 0; i < 240; i++) {
            if ((await ok('pool_status', {})).ready)
                return;
            await new Promise((r) => setTimeout(r, 500));
        }
        assert.fail('pool not ready within 120 s');
    });

    await step('describe_cdm lists both CDMs, each with its engine', async () => {
        const d = await ok('describe_cdm', {});
        assert.equal(d.default, 'synthetic_pg');
        assert.deepEqual(d.cdms.map((c) => [c.name, c.source]),
            [['synthetic', 'sqlite'], ['synthetic_pg', 'postgresql']]);
        const [sqlite, postgres] = d.cdms;
        assert.equal(postgres.database, 'synthetic_pg');
        assert.equal(postgres.cdm_version, sqlite.cdm_version);
        const rows = (c) => Object.fromEntries(c.tables.filter((t) => t.rows > 0)
            .map((t) => [t.name, t.rows]));
        assert.deepEqual(rows(postgres), rows(sqlite));
        assert.equal(rows(postgres).person, 2000);
        assert.deepEqual(postgres.vocabularies, sqlite.vocabularies);
    });

    await step('sessions choose their CDM by name', async () => {
        pg = await ok('create_session', {});
        lite = await ok('create_session', { cdm: 'synthetic' });
        assert.equal(pg.cdm, 'synthetic_pg');
        assert.equal(lite.cdm, 'synthetic');
        const engine = async (s) => (await exec(s.session_id, 'class(cdm_con)[1]')).value;
        assert.equal(await engine(pg), 'PostgreSQLConnection');
        assert.equal(await engine(lite), 'SQLiteConnection');
        await fails('create_session', { cdm: 'no_such_cdm' }, 'cdm_not_found');
        const other = await ok('create_session', { cdm: 'synthetic_pg' });
        assert.equal(other.cdm, 'synthetic_pg');
        await ok('close_session', { session_id: other.session_id });
    });

    await step('a session switches engines with omcp_open_cdm', async () => {
        const seen = await execJson(lite.session_id, `
            omcp_open_cdm("synthetic_pg")
            on_pg <- list(class = class(cdm_con)[1], db = Sys.getenv("DB_NAME"),
                          n = DBI::dbGetQuery(cdm_con, "SELECT count(*) AS n FROM person")$n)
            omcp_open_cdm("synthetic")
            list(pg = on_pg, back = class(cdm_con)[1])`);
        assert.deepEqual(seen, { pg: { class: 'PostgreSQLConnection', db: 'synthetic_pg', n: 2000 },
            back: 'SQLiteConnection' });
    });

    await step('DB_* for scripts written for the reference, without a password', async () => {
        const seen = await execJson(pg.session_id, `
            con <- DBI::dbConnect(RPostgreSQL::PostgreSQL(), host = Sys.getenv("DB_HOST"),
                port = Sys.getenv("DB_PORT"), dbname = Sys.getenv("DB_NAME"),
                user = Sys.getenv("DB_USER"), password = Sys.getenv("DB_PASSWORD"))
            on.exit(DBI::dbDisconnect(con))
            list(env = as.list(Sys.getenv(c("DB_HOST", "DB_PORT", "DB_NAME", "DB_USER"))),
                 who = DBI::dbGetQuery(con,
                     "SELECT current_user AS u, count(*) AS n FROM person"))`);
        assert.deepEqual(seen.env, { DB_HOST: '/run/cdm-pg', DB_PORT: process.env.DB_PORT,
            DB_NAME: 'synthetic_pg', DB_USER: 'omcp_cdm_reader' });
        assert.deepEqual(seen.who, [{ u: 'omcp_cdm_reader', n: 2000 }]);
    });

    await step('the ten analyses answer the same on PostgreSQL as on SQLite', async () => {
        const files = analyses();
        assert.equal(new Set(files.map((a) => a.file.slice(0, 2))).size, 10);
        for (const { file, sql } of files) {
            const query = (s) =>
                ok('omop_query', { session_id: s.session_id, sql, max_rows: 5000 });
            const onPg = await query(pg);
            const onLite = await query(lite);
            assert.equal(onPg.cdm, 'synthetic_pg');
            assert.equal(onLite.cdm, 'synthetic');
            const names = (r) => r.columns.map((c) => c.name);
            assert.deepEqual(names(onPg), names(onLite), file);
            assert.ok(onLite.row_count > 0, `${file}: no rows`);
            assert.equal(onLite.truncated, false);
            assert.deepEqual(normal(onPg.rows), normal(onLite.rows), file);
            console.log(`     ${file}: ${onPg.row_count} rows agree`);
        }
    });

    await step('omop_query binds named parameters on PostgreSQL too', async () => {
        const sql = 'SELECT COUNT(DISTINCT person_id) AS n FROM condition_occurrence ' +
            "WHERE condition_concept_id = :cid AND condition_start_date >= :since -- :unused";
        const args = { sql, params: { cid: params.condition_concept_id, since: '2010-01-01' } };
        const onPg = await ok('omop_query', { session_id: pg.session_id, ...args });
        const onLite = await ok('omop_query', { session_id: lite.session_id, ...args });
        assert.ok(onLite.rows[0][0] > 0);
        assert.deepEqual(normal(onPg.rows), normal(onLite.rows));
    });

    await step('the sandbox cannot write to the CDM, by privileges', async () => {
        const before = hostCount('person');
        const errors = await execJson(pg.session_id, `
            DBI::dbExecute(cdm_con, "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE")
            # RPostgreSQL's dbGetQuery turns errors into warnings; dbSendQuery does not.
            attempt <- function(sql) tryCatch({
                DBI::dbClearResult(DBI::dbSendQuery(cdm_con, sql))
                "succeeded"
            }, error = function(e) conditionMessage(e))
            vapply(c(
                paste("INSERT INTO person (person_id, gender_concept_id, year_of_birth,",
                      "race_concept_id, ethnicity_concept_id) VALUES (99999999, 8507, 1990, 0, 0)"),
                "UPDATE person SET year_of_birth = 1900",
                "DELETE FROM person",
                "CREATE TABLE scratch (i integer)",
                "CREATE TEMP TABLE scratch (i integer)",
                "CREATE SCHEMA scratch",
                "SELECT lo_create(0)"), attempt, "", USE.NAMES = FALSE)`);
        assert.equal(errors.length, 7);
        for (const e of errors)
            assert.match(e, /permission denied/, JSON.stringify(errors));
        assert.match(errors[4], /temporary tables/);
        await fails('omop_query', { session_id: pg.session_id, sql: 'DELETE FROM person' },
            'query_not_read_only');
        assert.equal(hostCount('person'), before);
        const mount = await exec(pg.session_id,
            'suppressWarnings(file.create("/run/cdm-pg/planted"))');
        assert.equal(mount.value, false);
    });

    await step('no other database and no other role is reachable', async () => {
        const errors = await execJson(pg.session_id, `
            reach <- function(db, user) tryCatch({
                con <- DBI::dbConnect(RPostgreSQL::PostgreSQL(), host = Sys.getenv("DB_HOST"),
                                      port = Sys.getenv("DB_PORT"), dbname = db, user = user)
                DBI::dbDisconnect(con)
                "connected"
            }, error = function(e) conditionMessage(e))
            c(reach("postgres", "omcp_cdm_reader"), reach("template1", "omcp_cdm_reader"),
              reach("synthetic_pg", "postgres"), reach("synthetic_pg", "omcp_cdm_loader"))`);
        assert.match(errors[0], /pg_hba\.conf rejects connection .*database "postgres"/);
        assert.match(errors[1], /pg_hba\.conf rejects connection .*database "template1"/);
        assert.match(errors[2], /Peer authentication failed for user "postgres"/);
        assert.match(errors[3], /no password supplied|password authentication failed/);
    });

    await step('no credential anywhere in the sandbox', async () => {
        const seen = await execJson(pg.session_id, `
            environ <- function(path) {
                raw <- tryCatch(readBin(path, "raw", 1e6), error = function(e) raw())
                raw[raw == as.raw(0)] <- as.raw(10)
                strsplit(rawToChar(raw), "\\n")[[1]]
            }
            procs <- list.files("/proc", pattern = "^[0-9]+$", full.names = TRUE)
            list(env = paste(names(Sys.getenv()), Sys.getenv(), sep = "="),
                 pid1 = environ("/proc/1/environ"),
                 pid1_error = tryCatch({ close(file("/proc/1/environ", "rb")); "opened" },
                     warning = function(w) conditionMessage(w)),
                 procs = unlist(lapply(file.path(procs, "environ"), environ)),
                 cmdlines = unlist(lapply(file.path(procs, "cmdline"), environ)),
                 pgpass = file.exists(c("/sandbox/.pgpass", path.expand("~/.pgpass"),
                                        "/root/.pgpass", "/etc/postgresql-common/pg_service.conf")),
                 service = Sys.getenv(c("PGPASSFILE", "PGSERVICEFILE", "PGPASSWORD")))`);
        // The Rserve parent is not dumpable (its binary is execute-only): its
        // environment is refused, which shows no secret; the session's own
        // environment, inherited from the parent at the fork, is checked.
        assert.match(seen.pid1_error, /Permission denied/, 'the Rserve parent\'s environ is refused');
        assert.ok(seen.env.some((v) => v.startsWith('PATH=')));
        for (const list of [seen.env, seen.pid1, seen.procs, seen.cmdlines].map((l) => [l ?? []].flat())) {
            assert.ok(!list.some((v) => /^(PGPASSWORD|DB_PASSWORD)=/.test(v)), list.join(' '));
            assert.ok(!list.some((v) => v.includes(password)), 'the loader password leaked');
        }
        assert.deepEqual(seen.pgpass, [false, false, false, false]);
        assert.deepEqual(seen.service, ['', '', '']);
        // grep must find a planted control string for its silence to mean anything.
        const files = await execJson(pg.session_id, `
            writeLines("omcp-grep-control", "/tmp/grep-control")
            holding <- function(needle) suppressWarnings(system2("grep", c("-rlF",
                "--no-messages", "-e", needle, "/etc", "/opt", "/run", "/sandbox", "/tmp",
                "/cdm", "/var", "/usr/local"), stdout = TRUE))
            list(control = I(holding("omcp-grep-control")), password = I(holding("${password}")))`);
        assert.deepEqual(files.control, ['/tmp/grep-control']);
        assert.deepEqual(files.password, [], `files holding the password: ${files.password}`);
    });

    await step('closing the client ends the daemon cleanly', async () => {
        await ok('close_session', { session_id: pg.session_id });
        await ok('close_session', { session_id: lite.session_id });
        await client.close();
        assert.doesNotMatch(stderr, /level=error/);
        assert.doesNotMatch(stderr, /Sanitizer|runtime error:/, 'sanitizer report');
        assert.ok(!stderr.includes(password), 'the daemon logged the loader password');
    });
}

try {
    await main();
    console.log(`${passed} steps passed`);
} catch (err) {
    console.log(`FAIL after ${passed} steps: ${err.stack ?? err}`);
    console.log('--- daemon stderr (last 40 lines) ---');
    console.log(stderr.split('\n').slice(-40).join('\n'));
    await client.close().catch(() => {});
    process.exit(1);
}
