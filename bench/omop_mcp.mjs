// The OMOP analyses through omcp-rproxy over MCP, with the official
// TypeScript SDK client, for bench/run.py's throughput comparison. A round
// at concurrency N: N R sessions at once (over stdio: N sessions of one
// client; over HTTP: N clients, kept connected from round to round), each
// creating a session, running every analysis once with omop_query, and
// closing it. Before and after a round the pool is back at its warm target
// with nothing starting, outside the clock.
//
// Usage: node omop_mcp.mjs SDK_DIR WORKLOAD CONCURRENCY (ROUNDS | serve)
//                          (--stdio DAEMON | --http URL)
// The daemon's settings come from the environment. With ROUNDS it runs each
// concurrency ROUNDS times and prints one JSON object, {"transport",
// "widths": [{"c", "seconds", "latencies_ms", "starts_ms", "failures"}]}.
// With "serve" the rounds come from bench/run.py, one command a line on
// standard input, so that the arms can take turns while this daemon stays
// warm: "settle" answers {"settled": true} once the pool is quiet; "round N"
// answers {"c", "seconds", "latencies_ms", "starts_ms", "failures"}.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

const [sdkDir, workloadFile, widthList, roundsText, mode, target] = process.argv.slice(2);
if (!target || !['--stdio', '--http'].includes(mode)) {
    console.error('usage: node omop_mcp.mjs SDK_DIR WORKLOAD CONCURRENCY (ROUNDS | serve) '
        + '(--stdio DAEMON | --http URL)');
    process.exit(2);
}
const sdk = (path) => import(pathToFileURL(join(sdkDir, 'dist/esm', path)).href);
const { Client } = await sdk('client/index.js');
const analyses = JSON.parse(readFileSync(workloadFile, 'utf8')).analyses;
const widths = widthList.split(',').map(Number);
const serving = roundsText === 'serve';
const rounds = Number(roundsText);
let stderr = '';

async function connect(name) {
    const client = new Client({ name, version: '1.0.0' });
    if (mode === '--stdio') {
        const { StdioClientTransport } = await sdk('client/stdio.js');
        const transport = new StdioClientTransport({
            command: target, args: ['--stdio'], env: process.env, stderr: 'pipe',
        });
        transport.stderr.on('data', (chunk) => { stderr = (stderr + chunk).slice(-20000); });
        await client.connect(transport);
    } else {
        const { StreamableHTTPClientTransport } = await sdk('client/streamableHttp.js');
        await client.connect(new StreamableHTTPClientTransport(new URL(target)));
    }
    return client;
}

async function call(client, name, args) {
    const result = await client.callTool({ name, arguments: args }, undefined, { timeout: 600000 });
    if (result.isError)
        throw new Error(`${name}: ${result.content[0].text}`);
    return result.structuredContent;
}

// The pool is back at its warm target with nothing starting.
async function settled(client) {
    const began = Date.now();
    while (Date.now() - began < 900000) {
        const st = await call(client, 'pool_status', {});
        const moving = st.slots.creating + st.slots.starting + st.slots.warming + st.slots.retiring;
        if (st.ready && st.slots.idle >= st.warm_target && !moving)
            return;
        await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('pool not settled within 900 s');
}

async function session(client, width) {
    const began = performance.now();
    const s = await call(client, 'create_session', {});
    width.starts_ms.push(performance.now() - began);
    for (const a of analyses) {
        const t0 = performance.now();
        try {
            await call(client, 'omop_query',
                { session_id: s.session_id, sql: a.sql, params: a.params });
        } catch (err) {
            width.failures++;
            console.error(`${a.name}: ${err.message}`);
        }
        width.latencies_ms.push(performance.now() - t0);
    }
    await call(client, 'close_session', { session_id: s.session_id });
}

// The clients a round at concurrency c uses: the control client's one
// conversation over stdio; over HTTP c clients, connected outside the clock
// and kept for later rounds, as an agent platform keeps its connections.
const httpClients = [];

async function roundClients(control, c) {
    if (mode === '--stdio')
        return Array(c).fill(control);
    while (httpClients.length < c)
        httpClients.push(await connect(`omcp-bench-omop-${httpClients.length}`));
    return httpClients.slice(0, c);
}

// One round on a settled pool, added to width; the refill after it is
// waited for too, so that no other round runs beside it.
async function round(control, width) {
    const clients = await roundClients(control, width.c);
    await settled(control);
    const t0 = performance.now();
    await Promise.all(clients.map((client) => session(client, width)));
    width.seconds += (performance.now() - t0) / 1000;
    await settled(control);
}

function newWidth(c) {
    return { c, seconds: 0, latencies_ms: [], starts_ms: [], failures: 0 };
}

async function runRounds(control) {
    const report = { transport: mode.slice(2), widths: [] };
    for (const c of widths) {
        const width = newWidth(c);
        for (let r = 0; r < rounds; r++)
            await round(control, width);
        report.widths.push(width);
    }
    console.log(JSON.stringify(report));
}

async function serve(control) {
    const widest = Math.max(...widths);
    for await (const line of createInterface({ input: process.stdin })) {
        const c = Number((line.match(/^round (\d+)$/) ?? [])[1]);
        if (line === 'settle') {
            await settled(control);
            console.log(JSON.stringify({ settled: true }));
        } else if (c >= 1 && c <= widest) {
            const width = newWidth(c);
            await round(control, width);
            console.log(JSON.stringify(width));
        } else {
            console.log(JSON.stringify({ error: 'unknown command' }));
        }
    }
}

async function main() {
    const control = await connect('omcp-bench-omop');
    await (serving ? serve(control) : runRounds(control));
    await Promise.all(httpClients.map((client) => client.close()));
    await control.close();
}

try {
    await main();
} catch (err) {
    console.error(`omop_mcp: ${err.stack ?? err}`);
    console.error(stderr.split('\n').slice(-30).join('\n'));
    process.exit(1);
}
