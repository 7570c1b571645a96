// The daemon out of file descriptors: it runs under a low open-file limit
// and idle HTTP connections are opened until accepting fails. The listener
// must pause instead of spinning, say so once, and keep the daemon's own
// work going: a session opened before goes on, new calls either succeed or
// fail with a structured error, and once the connections close a new MCP
// session works and the pool is warm again, with nothing leaked.
// Usage: node http_emfile.mjs DAEMON (run by tests/integration/mcp_http_faults.sh)
import assert from 'node:assert/strict';
import net from 'node:net';
import {
    call, connect, count, cpuSecs, ok, openFds, report, rssKiB, sleep, startDaemon, step,
    stopDaemon, waitReady,
} from './http_fault_daemon.mjs';

const [bin] = process.argv.slice(2);
const NOFILE = Number(process.env.EMFILE_NOFILE || 160);
const figures = [];
let d;

function openIdle(port, n) {
    const socks = [];
    for (let i = 0; i < n; i++) {
        const s = net.connect(port, '127.0.0.1');
        s.on('error', () => {});
        socks.push(s);
    }
    return socks;
}

async function waitLog(re, what, limitMs = 20000) {
    const began = Date.now();
    while (!re.test(d.stderr)) {
        assert.ok(Date.now() - began < limitMs, `${what}: no log line within ${limitMs} ms`);
        await sleep(50);
    }
    return Date.now() - began;
}

async function main() {
    let a, sa, socks, rssBefore, extra;

    await step(`the daemon under ulimit -n ${NOFILE} gets warm`, async () => {
        d = await startDaemon(bin, { nofile: NOFILE, env: { HTTP_IDLE_TIMEOUT: '120' } });
        await waitReady(d, 'start');
        a = await connect(d, 'omcp-emfile-a');
        sa = await ok(a, 'create_session', {});
        await ok(a, 'execute_in_session', { session_id: sa.session_id, code: 'x <- 41' });
        await ok(a, 'write_session_file', { session_id: sa.session_id, path: 'keep.txt',
            content: 'written before' });
        rssBefore = rssKiB(d);
        figures.push(`before: ${openFds(d)} descriptors open, RSS ${rssBefore} KiB`);
    });

    let cpuFrom, wallFrom;
    await step('idle connections until accept fails: accepting pauses, logged once', async () => {
        const began = Date.now();
        socks = openIdle(d.port, NOFILE + 40);
        const ms = await waitLog(/front_end=http msg="cannot accept; accepting paused"/, 'EMFILE');
        figures.push(`EMFILE reached ${Date.now() - began} ms after opening ${socks.length} ` +
            `connections (logged after ${ms} ms), ${openFds(d)} descriptors open`);
        cpuFrom = cpuSecs(d);
        wallFrom = Date.now();
    });

    await step('while out of descriptors: the open session goes on, new calls answer or fail ' +
        'with a structured error, nothing spins', async () => {
        const began = Date.now();
        const r = await ok(a, 'execute_in_session', { session_id: sa.session_id, code: 'x + 1' },
            20000);
        assert.equal(r.value, 42);
        figures.push(`execute_in_session on the open session: ${Date.now() - began} ms`);
        const outcomes = {};
        for (const [tool, args] of [
            ['read_session_file', { session_id: sa.session_id, path: 'keep.txt' }],
            ['write_session_file', { session_id: sa.session_id, path: 'new.txt', content: 'n' }],
            ['list_session_files', { session_id: sa.session_id }],
            ['create_session', {}],
            ['pool_status', {}],
        ]) {
            const t = Date.now();
            const res = await call(a, tool, args, 20000);
            outcomes[tool] = `${res.success ? 'ok' : res.error.code} ${Date.now() - t} ms`;
            if (tool === 'create_session' && res.success)
                extra = res.session_id; // closed once descriptors are back
            if (!res.success) {
                assert.equal(typeof res.error.message, 'string');
                assert.equal(typeof res.error.retryable, 'boolean');
            }
        }
        figures.push(`while exhausted: ${JSON.stringify(outcomes)}`);

        const wait = Math.max(0, 4000 - (Date.now() - wallFrom));
        await sleep(wait);
        const cpu = (cpuSecs(d) - cpuFrom) / ((Date.now() - wallFrom) / 1000);
        figures.push(`daemon CPU while out of descriptors: ${(cpu * 100).toFixed(1)} %`);
        assert.ok(cpu < 0.3, `the daemon used ${(cpu * 100).toFixed(0)} % CPU while paused`);
        assert.equal(count(d.stderr, 'accepting paused'), 1, 'the pause is logged once');
        assert.equal(d.proc.exitCode, null, 'the daemon runs');
    });

    await step('the connections close: accepting resumes, a new MCP session works, the pool is ' +
        'warm again', async () => {
        const began = Date.now();
        for (const s of socks)
            s.destroy();
        const b = await connect(d, 'omcp-emfile-b');
        if (extra)
            await ok(a, 'close_session', { session_id: extra });
        let sb;
        for (let i = 0; ; i++) { // a state write that failed for want of descriptors is retried each second
            sb = await call(b, 'create_session', {});
            if (sb.success || sb.error.code !== 'state_unavailable')
                break;
            assert.ok(i < 50, 'state_unavailable 10 s after the connections closed');
            await sleep(200);
        }
        assert.equal(sb.success, true, JSON.stringify(sb.error));
        const r = await ok(b, 'execute_in_session', { session_id: sb.session_id, code: '6 * 7' });
        assert.equal(r.value, 42);
        figures.push(`new MCP session working ${Date.now() - began} ms after the connections closed`);
        await waitLog(/front_end=http msg="accepting again; no connection waits"/, 'resume');
        const readyMs = await waitReady(d, 'after EMFILE', 60000);
        figures.push(`pool warm again ${Date.now() - began} ms after (readyz waited ${readyMs} ms)`);
        const file = await ok(a, 'read_session_file', { session_id: sa.session_id, path: 'keep.txt' });
        assert.equal(file.content, 'written before');
        assert.equal((await ok(a, 'execute_in_session',
            { session_id: sa.session_id, code: 'x' })).value, 41, 'the session kept its variables');
        await ok(b, 'close_session', { session_id: sb.session_id });
        await b.client.close();
        await sleep(500);
        const rssAfter = rssKiB(d);
        figures.push(`after: ${openFds(d)} descriptors open, RSS ${rssAfter} KiB ` +
            `(before ${rssBefore} KiB)`);
        assert.ok(rssAfter < rssBefore + 16384, `RSS grew from ${rssBefore} to ${rssAfter} KiB`);
    });

    await step('SIGTERM: the daemon stops cleanly', async () => {
        await ok(a, 'close_session', { session_id: sa.session_id });
        await a.client.close();
        await stopDaemon(d);
        const errors = d.stderr.split('\n').filter((l) => l.includes('level=error'));
        assert.ok(errors.every((l) => l.includes('msg="cannot write the state file')),
            `unexpected errors: ${errors.join('\n')}`);
    });
}

main().then(() => report(figures, d), (e) => {
    console.error('FAIL', e);
    process.exitCode = 1;
    if (d)
        console.error(`daemon: exit ${d.proc.exitCode} signal ${d.proc.signalCode}`);
    if (d && d.proc.exitCode === null)
        d.proc.kill('SIGKILL');
    report(figures, d);
});
