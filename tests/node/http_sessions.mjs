// Real R sessions over MCP Streamable HTTP, as the official TypeScript SDK
// client sees them, plus what the listener must refuse: a warm pool of
// hardened containers behind `omcp-rproxy --http 127.0.0.1:PORT`.
// Usage: node http_sessions.mjs DAEMON CDM_FILE
// The environment names the pool (STATE_DIR, SANDBOX_UID, ...).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const [daemon] = process.argv.slice(2);
assert.ok(daemon, 'usage: node http_sessions.mjs DAEMON CDM_FILE');

const tokens = { alice: 'alice-token-0123456789abcdef', bob: 'bob-token-0123456789abcdef',
    carol: 'carol-token-0123456789abcdef' };
const HEADER_TIMEOUT = 1.5;
let passed = 0;
let stderr = '';
let proc, base, exited;

async function step(name, fn) {
    const began = Date.now();
    await fn();
    passed++;
    console.log(`ok   ${name} (${Date.now() - began} ms)`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
    return new Promise((resolve) => {
        const srv = net.createServer();
        srv.listen(0, '127.0.0.1', () => {
            const { port } = srv.address();
            srv.close(() => resolve(port));
        });
    });
}

async function startDaemon() {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    proc = spawn(daemon, ['--http', `127.0.0.1:${port}`], {
        env: { ...process.env, QAP_LISTEN: '',
            HTTP_TOKENS: Object.entries(tokens).map(([n, t]) => `${n}:${t}`).join(','),
            HTTP_HEADER_TIMEOUT: String(HEADER_TIMEOUT), HTTP_MAX_SESSIONS_PER_IDENTITY: '2',
            HTTP_DRAIN_TIMEOUT: '20' },
        stdio: ['ignore', 'ignore', 'pipe'],
    });
    proc.stderr.on('data', (chunk) => { stderr += chunk; });
    exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
    for (let i = 0; i < 100; i++) {
        try {
            if ((await fetch(`${base}/healthz`)).ok)
                return;
        } catch { /* not listening yet */ }
        await sleep(100);
    }
    assert.fail('daemon did not listen within 10 s');
}

function bearer(name) {
    return { Authorization: `Bearer ${tokens[name]}` };
}

async function connect(name) {
    const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`),
        { requestInit: { headers: bearer(name) } });
    const client = new Client({ name: `omcp-http-test-${name}`, version: '1.0.0' });
    await client.connect(transport);
    return { client, transport };
}

async function call(client, name, args, options) {
    const result = await client.callTool({ name, arguments: args }, undefined, options);
    assert.deepEqual(JSON.parse(result.content[0].text), result.structuredContent, `${name} text`);
    return result;
}

async function ok(client, name, args, options) {
    const result = await call(client, name, args, options);
    assert.equal(result.isError, false, `${name}: ${result.content[0].text}`);
    return result.structuredContent;
}

async function fails(client, name, args, code) {
    const result = await call(client, name, args);
    assert.equal(result.isError, true, `${name} should fail with ${code}`);
    assert.equal(result.structuredContent.error.code, code, result.content[0].text);
    return result.structuredContent;
}

// A raw request on its own socket: what a browser, curl or an attacker sends.
function raw(request, { timeoutMs = 5000 } = {}) {
    return new Promise((resolve, reject) => {
        const sock = net.connect(Number(new URL(base).port), '127.0.0.1');
        let data = '';
        sock.on('data', (d) => { data += d; });
        sock.on('end', () => resolve(data));
        sock.on('close', () => resolve(data));
        sock.on('error', (e) => (data ? resolve(data) : reject(e)));
        sock.setTimeout(timeoutMs, () => { sock.destroy(); resolve(data); });
        sock.write(request);
    });
}

const initBody = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });

async function post(body, headers) {
    return fetch(`${base}/mcp`, { method: 'POST', body,
        headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream',
            ...headers } });
}

async function main() {
    let a, b, sa;

    await step('the daemon listens; /healthz answers at once, /readyz once the pool is warm', async () => {
        await startDaemon();
        assert.equal((await fetch(`${base}/healthz`)).status, 200);
        for (let i = 0; i < 240; i++) {
            if ((await fetch(`${base}/readyz`)).status === 200)
                return;
            await sleep(500);
        }
        assert.fail('/readyz not 200 within 120 s');
    });

    await step('initialize and tools/list with the SDK client over HTTP', async () => {
        a = await connect('alice');
        assert.match(a.transport.sessionId, /^[0-9a-f]{32}$/);
        const { tools } = await a.client.listTools();
        assert.equal(tools.length, 13);
    });

    await step('a session keeps its variables; an R error; a plot; a file round trip', async () => {
        sa = await ok(a.client, 'create_session', {});
        assert.ok(sa.acquire_ms < 50, `warm acquire took ${sa.acquire_ms} ms`);
        await ok(a.client, 'execute_in_session', { session_id: sa.session_id, code: 'x <- 41' });
        const r = await ok(a.client, 'execute_in_session', { session_id: sa.session_id, code: 'x + 1' });
        assert.equal(r.value, 42);
        const e = await fails(a.client, 'execute_in_session',
            { session_id: sa.session_id, code: 'stop("boom")' }, 'execution_error');
        assert.match(e.error.message, /boom/);
        const plot = await call(a.client, 'execute_in_session',
            { session_id: sa.session_id, code: 'plot(1:10)' });
        const image = plot.content.find((c) => c.type === 'image');
        assert.equal(image.mimeType, 'image/png');
        const bytes = Buffer.from([...Array(5000).keys()].map((i) => (i * 31) & 0xff));
        await ok(a.client, 'write_session_file', { session_id: sa.session_id, path: 'f.bin',
            content: bytes.toString('base64'), encoding: 'base64' });
        const back = await ok(a.client, 'read_session_file',
            { session_id: sa.session_id, path: 'f.bin', encoding: 'base64' });
        assert.deepEqual(Buffer.from(back.content, 'base64'), bytes);
    });

    await step('a timeout interrupts R and keeps the session', async () => {
        const began = Date.now();
        await fails(a.client, 'execute_in_session', { session_id: sa.session_id, code: 'Sys.sleep(30)',
            limits: { max_duration_secs: 1 } }, 'execution_timeout');
        assert.ok(Date.now() - began < 2500);
        const r = await ok(a.client, 'execute_in_session', { session_id: sa.session_id, code: 'x' });
        assert.equal(r.value, 41);
    });

    await step('progress notifications arrive on the POST\'s event stream', async () => {
        const reports = [];
        const r = await ok(a.client, 'execute_in_session', { session_id: sa.session_id,
            code: 'Sys.sleep(1.5); "done"' }, { onprogress: (p) => reports.push(p) });
        assert.equal(r.value, 'done');
        assert.ok(reports.length >= 1, `${reports.length} progress notifications`);
    });

    await step('another identity cannot see or use the session', async () => {
        b = await connect('bob');
        await fails(b.client, 'execute_in_session', { session_id: sa.session_id, code: 'x' },
            'session_not_found');
        await fails(b.client, 'close_session', { session_id: sa.session_id }, 'session_not_found');
        assert.deepEqual((await ok(b.client, 'list_sessions', {})).sessions, []);
        const mine = await ok(a.client, 'list_sessions', {});
        assert.deepEqual(mine.sessions.map((s) => s.session_id), [sa.session_id]);
        // Bob's token cannot use Alice's MCP session either.
        const res = await post(JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/list' }),
            { ...bearer('bob'), 'Mcp-Session-Id': a.transport.sessionId });
        assert.equal(res.status, 404);
    });

    await step('the per-identity session limit answers max_sessions_reached', async () => {
        const second = await ok(a.client, 'create_session', {});
        const third = await fails(a.client, 'create_session', {}, 'max_sessions_reached');
        assert.equal(third.error.details.scope, 'identity');
        assert.equal(third.error.retryable, true);
        await ok(a.client, 'close_session', { session_id: second.session_id });
    });

    await step('missing token 401, foreign Origin 403, bad or unknown session 400/404', async () => {
        assert.equal((await post(initBody, {})).status, 401);
        assert.equal((await post(initBody, { Authorization: 'Bearer wrong-token-0123456789' })).status, 401);
        const origin = await post(initBody, { ...bearer('alice'), Origin: 'http://evil.example' });
        assert.equal(origin.status, 403);
        assert.equal((await post(initBody, { ...bearer('alice'), Origin: 'http://localhost:3000' })).status, 200);
        const list = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
        const missing = await post(list, bearer('alice'));
        assert.equal(missing.status, 400);
        assert.equal((await missing.json()).error.code, -32000);
        assert.equal((await post(list, { ...bearer('alice'), 'Mcp-Session-Id': 'f'.repeat(32) })).status, 404);
        const version = await post(list, { ...bearer('alice'), 'Mcp-Session-Id': a.transport.sessionId,
            'MCP-Protocol-Version': '1999-01-01' });
        assert.equal(version.status, 400);
    });

    await step('a body over the message limit is refused with 413 before it is read', async () => {
        const answer = await raw(`POST /mcp HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tokens.alice}\r\n` +
            'Content-Type: application/json\r\nContent-Length: 900000000\r\n\r\n{');
        assert.match(answer, /^HTTP\/1\.1 413 /);
    });

    await step('a slowloris connection is closed at the header timeout; others are served', async () => {
        const sock = net.connect(Number(new URL(base).port), '127.0.0.1');
        const began = Date.now();
        const closed = new Promise((resolve) => sock.on('close', () => resolve(Date.now() - began)));
        sock.on('error', () => {});
        sock.write('POST /mcp HTTP/1.1\r\nHost: x\r\n');
        const drip = setInterval(() => sock.writable && sock.write('X'), 200);
        await sleep(300);
        const r = await ok(a.client, 'execute_in_session', { session_id: sa.session_id, code: 'x' });
        assert.equal(r.value, 41);
        const after = await closed;
        clearInterval(drip);
        assert.ok(after >= HEADER_TIMEOUT * 1000 - 100 && after < HEADER_TIMEOUT * 1000 + 1500,
            `closed after ${after} ms`);
    });

    await step('/metrics has the pool gauges, histograms and tool outcomes', async () => {
        assert.equal((await fetch(`${base}/metrics`)).status, 401);
        const text = await (await fetch(`${base}/metrics`, { headers: bearer('alice') })).text();
        assert.match(text, /^omcp_pool_slots\{state="leased"\} 1$/m);
        assert.match(text, /^omcp_pool_slots\{state="idle"\} \d+$/m);
        assert.match(text, /^omcp_pool_acquire_seconds_bucket\{le="\+Inf"\} \d+$/m);
        assert.match(text, /^omcp_pool_eval_seconds_count \d+$/m);
        assert.match(text, /^omcp_pool_container_start_seconds_sum /m);
        assert.match(text, /^omcp_mcp_tool_calls_total\{front_end="http",tool="execute_in_session",outcome="execution_error"\} 1$/m);
        assert.match(text, /^omcp_mcp_tool_calls_total\{front_end="http",tool="create_session",outcome="max_sessions_reached"\} 1$/m);
        assert.match(text, /^omcp_http_timeouts_total\{phase="header"\} [1-9]/m);
        assert.match(text, /^omcp_http_responses_total\{code="413"\} 1$/m);
        assert.match(text, /^omcp_http_received_bytes_total [1-9]/m);
    });

    await step('DELETE ends the MCP session and closes its R sessions', async () => {
        const c = await connect('carol');
        const sc = await ok(c.client, 'create_session', {});
        await ok(c.client, 'execute_in_session', { session_id: sc.session_id, code: 'y <- 1' });
        const sid = c.transport.sessionId;
        await c.transport.terminateSession();
        await c.client.close();
        const gone = await post(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }),
            { ...bearer('carol'), 'Mcp-Session-Id': sid });
        assert.equal(gone.status, 404);
        const again = await connect('carol');
        await fails(again.client, 'execute_in_session', { session_id: sc.session_id, code: 'y' },
            'session_not_found');
        assert.deepEqual((await ok(again.client, 'list_sessions', {})).sessions, []);
        await again.transport.terminateSession();
        await again.client.close();
        assert.match(stderr, /msg="session closed" owner="http:carol" reason="client gone"/);
    });

    await step('SIGTERM drains: an evaluation in flight completes, then the daemon exits 0', async () => {
        const running = ok(a.client, 'execute_in_session',
            { session_id: sa.session_id, code: 'Sys.sleep(2); "finished"' });
        await sleep(400);
        proc.kill('SIGTERM');
        await sleep(300);
        await assert.rejects(fetch(`${base}/healthz`), 'the listener is closed while draining');
        const r = await running;
        assert.equal(r.value, 'finished');
        const { code } = await exited;
        assert.equal(code, 0, 'exit status');
        await a.client.close().catch(() => {});
        await b.client.close().catch(() => {});
        assert.match(stderr, /msg="drained" how="calls finished"/);
        assert.doesNotMatch(stderr, /level=error/);
        assert.doesNotMatch(stderr, /Sanitizer|runtime error:/, 'sanitizer report');
        assert.doesNotMatch(stderr, /token-0123456789/, 'a token in the log');
    });
}

try {
    await main();
    console.log(`${passed} steps passed`);
} catch (err) {
    console.log(`FAIL after ${passed} steps: ${err.stack ?? err}`);
    console.log('--- daemon stderr (last 60 lines) ---');
    console.log(stderr.split('\n').slice(-60).join('\n'));
    proc?.kill('SIGKILL');
    process.exit(1);
}
process.exit(0);
