// Real R sessions over stdio, as the official TypeScript SDK client sees them:
// a warm pool of hardened containers behind `omcp-rproxy --stdio`.
// Usage: node stdio_sessions.mjs DAEMON CDM_FILE
// The environment names the pool (STATE_DIR, CDM_DIR, SANDBOX_UID, ...);
// CDM_FILE is the SQLite CDM the daemon serves as "synthetic", read here
// with the sqlite3 command to check omop_query's answers independently.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const [daemon, cdmFile] = process.argv.slice(2);
assert.ok(daemon && cdmFile, 'usage: node stdio_sessions.mjs DAEMON CDM_FILE');

let passed = 0;
async function step(name, fn) {
    const began = Date.now();
    await fn();
    passed++;
    console.log(`ok   ${name} (${Date.now() - began} ms)`);
}

function sqlite(sql) {
    return execFileSync('sqlite3', ['-readonly', '-json', cdmFile, sql], { encoding: 'utf8' });
}

// xxhsum (Debian's xxhash) computes the XXH3-64 of bytes independently.
function xxh3(bytes) {
    const dir = mkdtempSync(join(tmpdir(), 'omcp-xxh-'));
    try {
        writeFileSync(join(dir, 'f'), bytes);
        return execFileSync('xxhsum', ['-H3', join(dir, 'f')],
            { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
            .match(/= ([0-9a-f]{16})/)[1];
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

const transport = new StdioClientTransport({
    command: daemon, args: ['--stdio'], env: process.env, stderr: 'pipe',
});
let stderr = '';
transport.stderr.on('data', (chunk) => { stderr += chunk; });
const client = new Client({ name: 'omcp-sessions-test', version: '1.0.0' });

async function call(name, args, options) {
    const result = await client.callTool({ name, arguments: args }, undefined, options);
    assert.deepEqual(JSON.parse(result.content[0].text), result.structuredContent, `${name} text`);
    return result;
}

async function ok(name, args, options) {
    const result = await call(name, args, options);
    assert.equal(result.isError, false, `${name}: ${result.content[0].text}`);
    assert.equal(result.structuredContent.success, true);
    return result.structuredContent;
}

async function fails(name, args, code) {
    const result = await call(name, args);
    assert.equal(result.isError, true, `${name} should fail with ${code}`);
    assert.equal(result.structuredContent.success, false);
    assert.equal(result.structuredContent.error.code, code, result.content[0].text);
    assert.equal(typeof result.structuredContent.error.message, 'string');
    return result.structuredContent;
}

const exec = (session_id, code, limits) =>
    ok('execute_in_session', limits ? { session_id, code, limits } : { session_id, code });

async function main() {
    let a, b;

    await step('initialize and tools/list', async () => {
        await client.connect(transport);
        const { tools } = await client.listTools();
        assert.equal(tools.length, 13);
    });

    await step('the pool reaches its warm target', async () => {
        for (let i = 0; i < 240; i++) {
            const status = await ok('pool_status', {});
            if (status.ready)
                return;
            await new Promise((r) => setTimeout(r, 500));
        }
        assert.fail('pool not ready within 120 s');
    });

    await step('two sessions from the warm pool', async () => {
        a = await ok('create_session', {});
        b = await ok('create_session', { timeout: 120 });
        assert.match(a.session_id, /^[0-9a-f]{32}$/);
        assert.notEqual(a.session_id, b.session_id);
        assert.equal(a.cdm, 'synthetic');
        assert.equal(b.idle_timeout_secs, 120);
        assert.ok(a.acquire_ms < 50, `warm acquire took ${a.acquire_ms} ms`);
        assert.equal(a.host_port, undefined);
        const list = await ok('list_sessions', {});
        assert.deepEqual(list.sessions.map((s) => s.session_id).sort(),
            [a.session_id, b.session_id].sort());
    });

    await step('variables persist within a session and stay apart between sessions', async () => {
        await exec(a.session_id, 'x <- 41');
        await exec(b.session_id, 'x <- "b"');
        const ra = await exec(a.session_id, 'x + 1');
        assert.equal(ra.value, 42);
        assert.equal(ra.output, '[1] 42\n');
        const rb = await exec(b.session_id, 'x');
        assert.equal(rb.value, 'b');
        const files = await exec(b.session_id, 'file.exists("/sandbox/only-a.txt")');
        await exec(a.session_id, 'writeLines("mine", "/sandbox/only-a.txt")');
        assert.equal(files.value, false);
        assert.equal((await exec(b.session_id, 'file.exists("/sandbox/only-a.txt")')).value, false);
    });

    await step('printed output, messages and warnings come back in order', async () => {
        const r = await exec(a.session_id,
            'cat("one\\n"); message("two"); warning("three"); data.frame(n = 1:2, s = c("p", NA))');
        assert.deepEqual(r.stream.map((e) => e.type), ['output', 'message', 'warning', 'output']);
        assert.match(r.output, /^one\ntwo\nWarning message:\nthree\n/);
        assert.deepEqual(r.value.columns, [[1, 2], ['p', null]]);
        assert.equal(r.value.r_type, 'data.frame');
    });

    await step('an R error is execution_error with R\'s message and call', async () => {
        const r = await fails('execute_in_session',
            { session_id: a.session_id, code: 'f <- function(v) log(v); f("a")' }, 'execution_error');
        assert.match(r.error.message, /non-numeric argument to mathematical function/);
        assert.equal(r.error.details.call, 'log(v)');
        assert.equal((await exec(a.session_id, 'x')).value, 41);
    });

    await step('a plot comes back as a PNG image', async () => {
        const result = await call('execute_in_session',
            { session_id: a.session_id, code: 'plot(1:10, main = "p")' });
        assert.equal(result.isError, false);
        assert.equal(result.structuredContent.plots, 1);
        const image = result.content.find((c) => c.type === 'image');
        assert.equal(image.mimeType, 'image/png');
        const png = Buffer.from(image.data, 'base64');
        assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
        assert.ok(png.length > 1000);
    });

    await step('a binary file round trip keeps every byte and its checksum', async () => {
        const bytes = Buffer.alloc(70000);
        for (let i = 0; i < bytes.length; i++)
            bytes[i] = (i * 7919 + (i >> 8)) & 0xff;
        const w = await ok('write_session_file', { session_id: a.session_id, path: 'data/blob.bin',
            content: bytes.toString('base64'), encoding: 'base64' });
        assert.equal(w.size, bytes.length);
        assert.equal(w.xxh3, xxh3(bytes));
        const seen = await exec(a.session_id,
            'v <- readBin("/sandbox/data/blob.bin", "raw", 1e6); c(length(v), as.integer(v[1:3]))');
        assert.deepEqual(seen.value, [bytes.length, bytes[0], bytes[1], bytes[2]]);
        await exec(a.session_id, 'writeBin(rev(v), "/sandbox/data/rev.bin")');
        const r = await ok('read_session_file',
            { session_id: a.session_id, path: '/sandbox/data/rev.bin', encoding: 'base64' });
        const back = Buffer.from(r.content, 'base64');
        assert.deepEqual(back, Buffer.from(bytes).reverse());
        assert.equal(r.xxh3, xxh3(back));
        const listing = await ok('list_session_files', { session_id: a.session_id, path: 'data' });
        assert.deepEqual(listing.files.map((f) => f.name), ['blob.bin', 'rev.bin']);
    });

    await step('a workspace exported as tar and imported into another session', async () => {
        const x = await ok('export_session_workspace', { session_id: a.session_id, path: 'data' });
        assert.equal(x.format, 'tar');
        assert.equal(x.files, 2);
        const tar = Buffer.from(x.archive, 'base64');
        assert.equal(x.size, tar.length);
        assert.equal(x.xxh3, xxh3(tar));
        const names = execFileSync('tar', ['-t'], { input: tar, encoding: 'utf8' }).trim().split('\n');
        assert.deepEqual(names.sort(), ['blob.bin', 'rev.bin']);
        const i = await ok('import_session_workspace',
            { session_id: b.session_id, path: 'from-a', archive: x.archive });
        assert.equal(i.files, 2);
        const seen = await exec(b.session_id, 'file.size("/sandbox/from-a/blob.bin")');
        assert.equal(seen.value, 70000);
        const r = await ok('read_session_file',
            { session_id: b.session_id, path: 'from-a/rev.bin', encoding: 'base64' });
        assert.equal(r.xxh3, (await ok('read_session_file',
            { session_id: a.session_id, path: 'data/rev.bin', encoding: 'base64' })).xxh3);
    });

    await step('files at the size limits: the maximum passes, one byte more is refused', async () => {
        const max = Number(process.env.MAX_FILE_WRITE_BYTES);
        const big = Buffer.alloc(max, 0x5a);
        const w = await ok('write_session_file', { session_id: a.session_id, path: 'max.bin',
            content: big.toString('base64'), encoding: 'base64' });
        assert.equal(w.size, max);
        const r = await ok('read_session_file',
            { session_id: a.session_id, path: 'max.bin', encoding: 'base64' });
        assert.equal(r.size, max);
        assert.equal(r.xxh3, xxh3(big));
        const over = await fails('write_session_file', { session_id: a.session_id, path: 'over.bin',
            content: Buffer.alloc(max + 1).toString('base64'), encoding: 'base64' }, 'file_too_large');
        assert.equal(over.error.details.max_file_write_bytes, max);
        await exec(a.session_id, `writeBin(raw(${Number(process.env.MAX_FILE_READ_BYTES) + 1}), "big.bin")`);
        await fails('read_session_file', { session_id: a.session_id, path: 'big.bin' }, 'file_too_large');
        await exec(a.session_id, 'invisible(file.remove(c("big.bin", "max.bin")))');
    });

    await step('output past max_output_bytes is cut and saved whole in the workspace', async () => {
        const r = await exec(a.session_id, 'cat(strrep("0123456789", 500))',
            { max_output_bytes: 100 });
        assert.equal(r.output.length, 100);
        assert.equal(r.meta.output_truncated, true);
        assert.match(r.meta.output_file, /^\/sandbox\/\.omcp\//);
        const whole = await ok('read_session_file', { session_id: a.session_id, path: r.meta.output_file });
        assert.equal(whole.content.length, 5000);
    });

    await step('an idle session is closed after its own timeout', async () => {
        const c = await ok('create_session', { timeout: 1 });
        await exec(c.session_id, 'y <- 1');
        await new Promise((res) => setTimeout(res, 2500));
        await fails('execute_in_session', { session_id: c.session_id, code: 'y' }, 'session_not_found');
    });

    await step('paths outside /sandbox and links planted by R are refused', async () => {
        for (const path of ['../etc/passwd', '/etc/passwd', '/sandbox/../../root', 'a/../../x'])
            await fails('read_session_file', { session_id: a.session_id, path }, 'invalid_path');
        const hostFile = readFileSync('/etc/hostname');
        await exec(a.session_id, 'file.symlink("/etc/hostname", "/sandbox/link")');
        await fails('read_session_file', { session_id: a.session_id, path: 'link' }, 'invalid_path');
        await fails('write_session_file',
            { session_id: a.session_id, path: 'link', content: 'x' }, 'invalid_path');
        assert.deepEqual(readFileSync('/etc/hostname'), hostFile, 'host file untouched');
        const link = await exec(a.session_id, 'Sys.readlink("/sandbox/link")');
        assert.equal(link.value, '/etc/hostname', 'the planted link is left as it was');
        await fails('read_session_file', { session_id: b.session_id, path: 'only-a.txt' },
            'file_not_found');
    });

    await step('a timeout interrupts R within limit + 1 s and keeps the session', async () => {
        for (const code of ['while (TRUE) {}', 'Sys.sleep(60)']) {
            const began = Date.now();
            const r = await fails('execute_in_session',
                { session_id: a.session_id, code, limits: { max_duration_secs: 1 } },
                'execution_timeout');
            const took = Date.now() - began;
            assert.ok(took >= 900 && took < 2000, `${code} answered after ${took} ms`);
            assert.equal(r.error.details.max_duration_secs, 1);
            assert.equal((await exec(a.session_id, 'x')).value, 41);
        }
    });

    await step('a long evaluation reports progress when the client asks for it', async () => {
        const reports = [];
        const r = await call('execute_in_session',
            { session_id: a.session_id, code: 'Sys.sleep(2.5); "done"', limits: { max_duration_secs: 10 } },
            { onprogress: (p) => reports.push(p) });
        assert.equal(r.structuredContent.value, 'done');
        assert.ok(reports.length >= 2, `${reports.length} progress notifications`);
        assert.ok(reports.every((p, i) => i === 0 || p.progress > reports[i - 1].progress));
        assert.equal(reports[0].total, 10);
    });

    await step('cancelling a call interrupts R and keeps the session', async () => {
        const controller = new AbortController();
        const began = Date.now();
        const running = call('execute_in_session', { session_id: b.session_id, code: 'Sys.sleep(30)' },
            { signal: controller.signal });
        setTimeout(() => controller.abort('test cancels'), 500);
        await assert.rejects(running);
        let r;
        for (;;) {
            r = await call('execute_in_session', { session_id: b.session_id, code: 'x' });
            if (!r.isError || r.structuredContent.error.code !== 'session_busy')
                break;
            assert.ok(Date.now() - began < 5000, 'session still busy 5 s after cancel');
            await new Promise((res) => setTimeout(res, 100));
        }
        assert.equal(r.isError, false, r.content[0].text);
        assert.equal(r.structuredContent.value, 'b');
        assert.ok(Date.now() - began < 5000, `usable again after ${Date.now() - began} ms`);
    });

    await step('omop_query answers match sqlite3 on the same CDM file', async () => {
        const sql = 'SELECT gender_concept_id, COUNT(*) AS n FROM person GROUP BY gender_concept_id ' +
            'ORDER BY gender_concept_id';
        const want = JSON.parse(sqlite(sql));
        const r = await ok('omop_query', { session_id: a.session_id, sql });
        assert.deepEqual(r.columns.map((c) => c.name), ['gender_concept_id', 'n']);
        assert.deepEqual(r.rows, want.map((w) => [w.gender_concept_id, w.n]));
        assert.equal(r.truncated, false);
        assert.equal(r.cdm, 'synthetic');

        const person = JSON.parse(sqlite('SELECT MIN(person_id) AS id FROM person'))[0].id;
        const one = await ok('omop_query', { session_id: a.session_id,
            sql: 'SELECT year_of_birth FROM person WHERE person_id = :pid', params: { pid: person } });
        assert.deepEqual(one.rows,
            [[JSON.parse(sqlite(`SELECT year_of_birth FROM person WHERE person_id = ${person}`))[0]
                .year_of_birth]]);
        const many = await ok('omop_query',
            { session_id: a.session_id, sql: 'SELECT person_id FROM person', max_rows: 5 });
        assert.equal(many.row_count, 5);
        assert.equal(many.truncated, true);

        const before = sqlite('SELECT COUNT(*) AS n FROM person');
        await fails('omop_query', { session_id: a.session_id, sql: 'DELETE FROM person' },
            'query_not_read_only');
        await fails('execute_in_session',
            { session_id: a.session_id, code: 'DBI::dbExecute(cdm_con, "DELETE FROM person")' },
            'execution_error');
        assert.equal(sqlite('SELECT COUNT(*) AS n FROM person'), before);
        const viaR = await exec(a.session_id, 'DBI::dbGetQuery(cdm_con, "SELECT COUNT(*) AS n FROM person")$n');
        assert.equal(viaR.value, JSON.parse(before)[0].n);
    });

    await step('describe_cdm lists the CDM with its tables', async () => {
        const d = await ok('describe_cdm', {});
        assert.equal(d.default, 'synthetic');
        const synthetic = d.cdms.find((c) => c.name === 'synthetic');
        const person = synthetic.tables.find((t) => t.name === 'person');
        assert.equal(person.rows, JSON.parse(sqlite('SELECT COUNT(*) AS n FROM person'))[0].n);
    });

    await step('install_package says why it cannot', async () => {
        const r = await fails('install_package', { session_id: a.session_id, package_name: 'glue' },
            'install_unavailable');
        assert.match(r.error.message, /no network/);
    });

    await step('close, then the closed session is session_not_found', async () => {
        const closed = await ok('close_session', { session_id: a.session_id });
        assert.match(closed.message, /closed/);
        await fails('execute_in_session', { session_id: a.session_id, code: '1' }, 'session_not_found');
        await fails('read_session_file', { session_id: a.session_id, path: 'data/blob.bin' },
            'session_not_found');
        await fails('close_session', { session_id: a.session_id }, 'session_not_found');
        const list = await ok('list_sessions', {});
        assert.deepEqual(list.sessions.map((s) => s.session_id), [b.session_id]);
    });

    await step('closing the client ends the daemon cleanly', async () => {
        await client.close();
        assert.doesNotMatch(stderr, /level=error/);
        assert.doesNotMatch(stderr, /Sanitizer|runtime error:/, 'sanitizer report');
        assert.match(stderr, /msg="session closed".*reason="stdio client gone"/);
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
