// A bounded soak: N concurrent clients create sessions, evaluate R, write and
// read files, query the CDM and close again, while faults are injected on a
// timer (a leased container killed with docker kill, a session's R process
// killed, a memory bomb). Every interval it prints requests served, errors
// by code, latency percentiles and the daemon's RSS; at the end it checks
// that every container the pool created was removed or is still accounted
// for, that docker agrees, and that the RSS stayed flat.
//
//   node soak.mjs --daemon BIN [--seconds 1800] [--clients 4] [--interval 60]
//                 [--fault-every 180] [--max-requests 5000000] [--rss-unjudged WHY]
//                 [--transport stdio|http] [--url http://127.0.0.1:8080/mcp --pid PID]
//
// Over stdio the daemon is started here and serves one MCP connection, so
// the clients are concurrent workers sharing it; over HTTP each client has a
// connection of its own to a daemon started elsewhere (--url, --pid). The
// pool is named by the environment (STATE_DIR, ...), as for the scenarios.
// Exit status: 0 when every check held, 1 otherwise, 2 on the watchdog.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const { values: opt } = parseArgs({
    options: {
        daemon: { type: 'string' },
        transport: { type: 'string', default: 'stdio' },
        url: { type: 'string' },
        pid: { type: 'string' },
        seconds: { type: 'string', default: '1800' },
        clients: { type: 'string', default: '4' },
        interval: { type: 'string', default: '60' },
        'fault-every': { type: 'string', default: '180' },
        'max-requests': { type: 'string', default: '5000000' },
        'rss-slack-pct': { type: 'string', default: '20' },
        'rss-slack-kb': { type: 'string', default: '4096' },
        'rss-unjudged': { type: 'string' }, // why RSS cannot be judged (an ASan build)
    },
});
const SECONDS = Number(opt.seconds);
const CLIENTS = Number(opt.clients);
const INTERVAL = Number(opt.interval);
const FAULT_EVERY = Number(opt['fault-every']);
const MAX_REQUESTS = Number(opt['max-requests']);
const LABEL = process.env.STATE_DIR;
if (!LABEL || !(SECONDS > 0) || !(CLIENTS > 0) || !(INTERVAL > 0) ||
    (opt.transport === 'stdio' && !opt.daemon) || (opt.transport === 'http' && !(opt.url && opt.pid))) {
    console.error('usage: see the head of soak.mjs (STATE_DIR must be set)');
    process.exit(2);
}

// Nothing may keep this running past its time, whatever hangs.
const watchdog = setTimeout(() => {
    console.log(`FAIL: watchdog: still running ${SECONDS + 180} s after the start`);
    process.exit(2);
}, (SECONDS + 180) * 1000);
watchdog.unref();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pick = (items) => items[Math.floor(Math.random() * items.length)];

// ---- connections ----

let daemonPid;
let stderr = '';
let partialLine = '';
const notable = []; // the daemon's warn and error lines, all of them (bounded)
const connections = [];

async function connect() {
    if (opt.transport === 'stdio') {
        // No TCP listener unless asked for: several daemons may run side by side.
        const env = { ...process.env, HTTP_LISTEN: process.env.HTTP_LISTEN ?? '',
            QAP_LISTEN: process.env.QAP_LISTEN ?? '' };
        const transport = new StdioClientTransport({
            command: opt.daemon, args: ['--stdio'], env, stderr: 'pipe',
        });
        transport.stderr.on('data', (chunk) => {
            const lines = (partialLine + chunk).split('\n');
            partialLine = lines.pop();
            for (const l of lines)
                if (/level=(warn|error)/.test(l) && notable.length < 2000)
                    notable.push(l);
            stderr += chunk;
            if (stderr.length > 8 << 20)
                stderr = stderr.slice(-(4 << 20)); // keep the tail, bounded
        });
        const client = new Client({ name: 'omcp-soak', version: '1.0.0' });
        await client.connect(transport);
        daemonPid = transport.pid;
        connections.push(client);
        return;
    }
    const { StreamableHTTPClientTransport } =
        await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
    daemonPid = Number(opt.pid);
    for (let i = 0; i < CLIENTS; i++) {
        const client = new Client({ name: `omcp-soak-${i}`, version: '1.0.0' });
        await client.connect(new StreamableHTTPClientTransport(new URL(opt.url)));
        connections.push(client);
    }
}

const clientOf = (worker) => connections[worker % connections.length];

// ---- accounting ----

function newInterval() {
    return { requests: 0, ok: 0, errors: {}, latencies: [], byTool: {}, faults: [] };
}
let current = newInterval();
const totals = { requests: 0, ok: 0, errors: {}, unexpected: [] };
const rssByInterval = [];

function record(name, ms, code) {
    (current.byTool[name] ??= []).push(ms);
    current.requests++;
    totals.requests++;
    current.latencies.push(ms);
    if (!code) {
        current.ok++;
        totals.ok++;
        return;
    }
    current.errors[code] = (current.errors[code] ?? 0) + 1;
    totals.errors[code] = (totals.errors[code] ?? 0) + 1;
}

function percentile(values, q) {
    if (!values.length)
        return 0;
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function rssKb() {
    try {
        const m = readFileSync(`/proc/${daemonPid}/status`, 'utf8').match(/^VmRSS:\s+(\d+)/m);
        return m ? Number(m[1]) : NaN;
    } catch {
        return NaN;
    }
}

// Containers of this deployment as docker lists them; NaN while the engine
// does not answer (someone may stop it: the soak goes on and says so).
function dockerCount() {
    try {
        return execFileSync('docker', ['ps', '-aq', '--filter', `label=org.omcp.pool=${LABEL}`],
            { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n').filter(Boolean).length;
    } catch {
        return NaN;
    }
}

// One tool call, timed and counted. Errors a caller expects are counted by
// code like any other; so is session_lost of a session a fault was aimed at,
// judged when the answer arrives (the fault may come while the call runs).
// Errors nobody expected are listed at the end.
async function tool(worker, name, args, expect = [], session = null) {
    const began = performance.now();
    let r;
    try {
        r = (await clientOf(worker).callTool({ name, arguments: args }, undefined,
            { timeout: 120000 })).structuredContent;
    } catch (err) {
        record(name, performance.now() - began, 'transport_error');
        totals.unexpected.push(`${name}: ${err.message}`);
        return { success: false, error: { code: 'transport_error' } };
    }
    const code = r.success ? null : r.error.code;
    record(name, performance.now() - began, code);
    if (code && !expect.includes(code) && !(code === 'session_lost' && session?.faulted))
        totals.unexpected.push(`${name}: ${code}: ${r.error.message}`);
    return r;
}

// ---- workers ----

let stopping = false;
const sessions = new Map(); // worker -> { id, host, faulted }

const OPS = [
    [40, 'eval'], [15, 'eval_state'], [15, 'file'], [15, 'query'], [10, 'list'], [5, 'status'],
];
function nextOp() {
    let r = Math.random() * 100;
    for (const [weight, op] of OPS) {
        if ((r -= weight) < 0)
            return op;
    }
    return 'eval';
}

async function runOp(w, s, op, n) {
    switch (op) {
    case 'eval':
        return tool(w, 'execute_in_session',
            { session_id: s.id, code: 'x <- rnorm(1000); c(mean(x), sd(x))' }, [], s);
    case 'eval_state':
        return tool(w, 'execute_in_session',
            { session_id: s.id, code: 'soak_n <- if (exists("soak_n")) soak_n + 1L else 1L; soak_n' },
            [], s);
    case 'file': {
        const path = `soak/f${n % 8}.txt`;
        const content = `worker ${w} op ${n} ${'.'.repeat(n % 500)}`;
        const wr = await tool(w, 'write_session_file', { session_id: s.id, path, content }, [], s);
        if (!wr.success)
            return wr;
        const rd = await tool(w, 'read_session_file', { session_id: s.id, path }, [], s);
        if (rd.success && rd.content !== content)
            totals.unexpected.push(`read_session_file: content differs at ${path}`);
        return rd;
    }
    case 'query':
        return tool(w, 'omop_query', { session_id: s.id, sql: 'SELECT gender_concept_id, COUNT(*) AS n ' +
            'FROM person WHERE year_of_birth > :y GROUP BY gender_concept_id',
        params: { y: 1900 + (n % 100) } }, [], s);
    case 'list':
        return tool(w, 'list_session_files', { session_id: s.id }, [], s);
    default:
        return tool(w, 'pool_status', {});
    }
}

async function worker(w) {
    while (!stopping && totals.requests < MAX_REQUESTS) {
        const c = await tool(w, 'create_session', {}, ['max_sessions_reached', 'backend_unavailable']);
        if (!c.success) {
            await sleep(500);
            continue;
        }
        const s = { id: c.session_id, host: null, faulted: false };
        const host = await tool(w, 'execute_in_session',
            { session_id: s.id, code: 'Sys.info()[["nodename"]]' });
        s.host = host.value;
        sessions.set(w, s);
        const ops = 150 + Math.floor(Math.random() * 250);
        for (let n = 0; n < ops && !stopping; n++) {
            const r = await runOp(w, s, nextOp(), n);
            if (!r.success && r.error.code === 'session_lost')
                break;
            await sleep(50 + Math.random() * 100);
        }
        sessions.delete(w);
        await tool(w, 'close_session', { session_id: s.id });
    }
}

// ---- faults ----

const FAULTS = ['docker_kill', 'r_kill', 'memory_bomb'];
let faultTurn = 0;

function leasedVictim() {
    const live = [...sessions.values()].filter((s) => s.host && !s.faulted);
    return live.length ? pick(live) : null;
}

async function injectFault() {
    const kind = FAULTS[faultTurn++ % FAULTS.length];
    try {
        if (kind === 'memory_bomb') {
            const c = await tool(CLIENTS, 'create_session', {},
                ['max_sessions_reached', 'backend_unavailable']);
            if (!c.success)
                return `${kind} skipped (${c.error.code})`;
            const r = await tool(CLIENTS, 'execute_in_session', { session_id: c.session_id,
                code: 'x <- list(); for (i in 1:64) x[[i]] <- rep(as.numeric(i), 2.5e7); length(x)' },
            ['session_lost']);
            await tool(CLIENTS, 'close_session', { session_id: c.session_id });
            const reason = r.error?.details?.reason;
            if (reason !== 'out_of_memory')
                totals.unexpected.push(`memory bomb ended with ${JSON.stringify(r.error ?? r.value)}`);
            return `${kind}: ${r.error?.code} ${reason}`;
        }
        const victim = leasedVictim();
        if (!victim)
            return `${kind} skipped (no leased session)`;
        victim.faulted = true;
        if (kind === 'docker_kill') {
            execFileSync('docker', ['kill', victim.host], { stdio: 'ignore' });
        } else {
            const parent = execFileSync('docker', ['inspect', '-f', '{{.State.Pid}}', victim.host],
                { encoding: 'utf8' }).trim();
            const child = execFileSync('pgrep', ['-P', parent], { encoding: 'utf8' }).trim().split('\n')[0];
            execFileSync('kill', ['-KILL', child]);
        }
        return `${kind} ${victim.host}`;
    } catch (err) {
        return `${kind} failed: ${err.message.split('\n')[0]}`;
    }
}

// ---- the run ----

function report(index, seconds) {
    const rss = rssKb();
    rssByInterval.push(rss);
    const errs = Object.entries(current.errors).map(([k, v]) => `${k}=${v}`).join(',') || 'none';
    console.log(`interval ${index} (${seconds} s): requests ${current.requests} ` +
        `(${(current.requests / seconds).toFixed(1)}/s) ok ${current.ok} errors ${errs} ` +
        `p50 ${percentile(current.latencies, 0.5).toFixed(1)} ms ` +
        `p99 ${percentile(current.latencies, 0.99).toFixed(1)} ms ` +
        `(execute p99 ${percentile(current.byTool.execute_in_session ?? [], 0.99).toFixed(1)} ms, ` +
        `create p99 ${percentile(current.byTool.create_session ?? [], 0.99).toFixed(1)} ms) rss ${rss} kB ` +
        `containers ${dockerCount()}${current.faults.length ? ' faults: ' + current.faults.join('; ') : ''}`);
    current = newInterval();
}

async function settle(limitMs) {
    const began = Date.now();
    for (;;) {
        const st = (await connections[0].callTool({ name: 'pool_status', arguments: {} })).structuredContent;
        const live = Object.values(st.slots).reduce((a, b) => a + b, 0);
        const docker = dockerCount();
        if ((st.counters.created === st.counters.retired + live && docker === live) ||
            Date.now() - began > limitMs)
            return { st, live, docker };
        await sleep(250);
    }
}

async function main() {
    console.log(`soak: transport ${opt.transport}, ${CLIENTS} clients, ${SECONDS} s, ` +
        `report every ${INTERVAL} s, a fault every ${FAULT_EVERY} s, at most ${MAX_REQUESTS} requests`);
    await connect();
    for (let i = 0; i < 240; i++) {
        const st = (await connections[0].callTool({ name: 'pool_status', arguments: {} })).structuredContent;
        if (st.ready)
            break;
        await sleep(500);
    }
    const began = Date.now();
    const workers = [...Array(CLIENTS).keys()].map((w) => worker(w));
    const faults = [];
    let index = 0, nextFault = FAULT_EVERY * 1000, lastReport = began;
    while (Date.now() - began < SECONDS * 1000 && totals.requests < MAX_REQUESTS) {
        await sleep(Math.min(1000, SECONDS * 1000 - (Date.now() - began)));
        const elapsed = Date.now() - began;
        if (elapsed >= nextFault) {
            // Not awaited: a memory bomb waits for a session of its own.
            nextFault += FAULT_EVERY * 1000;
            faults.push(injectFault().then((what) => current.faults.push(what)));
        }
        if (Date.now() - lastReport >= INTERVAL * 1000) {
            report(++index, Math.round((Date.now() - lastReport) / 1000));
            lastReport = Date.now();
        }
    }
    stopping = true;
    await Promise.all([...workers, ...faults]);
    if (current.requests)
        report(++index, Math.round((Date.now() - lastReport) / 1000));

    const { st, live, docker } = await settle(30000);
    const errs = Object.entries(totals.errors).map(([k, v]) => `${k}=${v}`).join(',') || 'none';
    console.log(`total: requests ${totals.requests} ok ${totals.ok} errors ${errs} in ` +
        `${Math.round((Date.now() - began) / 1000)} s`);
    console.log(`pool: created ${st.counters.created} retired ${st.counters.retired} live ${live} ` +
        `(${JSON.stringify(st.slots)}) docker ${docker} leases ${st.counters.leases} ` +
        `lost ${st.counters.lost}`);
    const checks = [];
    checks.push([st.counters.created === st.counters.retired + live,
        'containers created = removed + still live']);
    checks.push([docker === live, 'docker ps agrees with the pool']);
    checks.push([totals.unexpected.length === 0, `no unexpected error (${totals.unexpected.length})`]);
    if (opt['rss-unjudged']) {
        checks.push([true, `RSS flat: not judged, ${opt['rss-unjudged']} (first ${rssByInterval[0]} kB, ` +
            `last ${rssByInterval[rssByInterval.length - 1]} kB)`]);
    } else if (rssByInterval.length >= 3) {
        const second = rssByInterval[1], last = rssByInterval[rssByInterval.length - 1];
        const bound = second * (1 + Number(opt['rss-slack-pct']) / 100) + Number(opt['rss-slack-kb']);
        checks.push([last <= bound, `RSS flat: last ${last} kB <= ${Math.round(bound)} kB ` +
            `(second interval ${second} kB + ${opt['rss-slack-pct']}% + ${opt['rss-slack-kb']} kB)`]);
    } else {
        checks.push([true, `RSS flat: not judged, only ${rssByInterval.length} intervals`]);
    }
    for (const c of connections)
        await c.close();
    await sleep(500);
    if (opt.transport === 'stdio') {
        checks.push([!notable.some((l) => /level=error/.test(l)), 'no level=error in the daemon log']);
        checks.push([!/Sanitizer|runtime error:/.test(stderr), 'no sanitizer report']);
    }
    for (const u of totals.unexpected.slice(0, 20))
        console.log(`unexpected: ${u}`);
    if (totals.unexpected.length) {
        console.log(`--- daemon warnings and errors (${notable.length}, last 30) ---`);
        console.log(notable.slice(-30).join('\n'));
    }
    for (const [held, what] of checks)
        console.log(`${held ? 'ok  ' : 'FAIL'} ${what}`);
    return checks.every(([held]) => held);
}

try {
    const good = await main();
    process.exit(good ? 0 : 1);
} catch (err) {
    console.log(`FAIL: ${err.stack ?? err}`);
    if (stderr)
        console.log(stderr.split('\n').slice(-40).join('\n'));
    process.exit(1);
}
