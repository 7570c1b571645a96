// The OMOP analyses through omcp-rproxy over MCP, with the official
// TypeScript SDK client, for bench/run.py's throughput comparison. For each
// concurrency N, `rounds` times: N R sessions at once (over stdio: N
// sessions of one client; over HTTP: N clients), each creating a session,
// running every analysis once with omop_query, and closing it. Between
// rounds the pool refills to its warm target, outside the clock.
//
// Usage: node omop_mcp.mjs SDK_DIR WORKLOAD CONCURRENCY ROUNDS (--stdio DAEMON | --http URL)
// The daemon's settings come from the environment. Prints one JSON object:
// {"transport", "widths": [{"c", "seconds", "latencies_ms", "starts_ms", "failures"}]}.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [sdkDir, workloadFile, widthList, roundsText, mode, target] = process.argv.slice(2);
if (!target || !['--stdio', '--http'].includes(mode)) {
    console.error('usage: node omop_mcp.mjs SDK_DIR WORKLOAD CONCURRENCY ROUNDS '
        + '(--stdio DAEMON | --http URL)');
    process.exit(2);
}
const sdk = (path) => import(pathToFileURL(join(sdkDir, 'dist/esm', path)).href);
const { Client } = await sdk('client/index.js');
const analyses = JSON.parse(readFileSync(workloadFile, 'utf8')).analyses;
const widths = widthList.split(',').map(Number);
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

async function main() {
    const control = await connect('omcp-bench-omop');
    const report = { transport: mode.slice(2), widths: [] };
    for (const c of widths) {
        const width = { c, seconds: 0, latencies_ms: [], starts_ms: [], failures: 0 };
        for (let r = 0; r < rounds; r++) {
            await settled(control);
            const clients = mode === '--stdio' ? Array(c).fill(control)
                : await Promise.all(Array.from({ length: c },
                    (_, i) => connect(`omcp-bench-omop-${i}`)));
            const t0 = performance.now();
            await Promise.all(clients.map((client) => session(client, width)));
            width.seconds += (performance.now() - t0) / 1000;
            if (mode === '--http')
                await Promise.all(clients.map((client) => client.close()));
        }
        report.widths.push(width);
    }
    await control.close();
    console.log(JSON.stringify(report));
}

try {
    await main();
} catch (err) {
    console.error(`omop_mcp: ${err.stack ?? err}`);
    console.error(stderr.split('\n').slice(-30).join('\n'));
    process.exit(1);
}
