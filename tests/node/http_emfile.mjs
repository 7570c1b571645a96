// Many idle clients against the daemon's descriptor reserve: under a low
// open-file limit the HTTP connection cap is lowered at start to what the
// limit leaves beyond the reserve, and idle HTTP connections are opened
// well past it. The listener must never run out of descriptors (no EMFILE
// pause): past the cap the oldest waiting connection gives way. Meanwhile
// the daemon's own work goes on: a session opened before keeps working, a
// new session is created and its workspace is a mounted, size-limited image.
// Once the connections close the pool is warm again, with nothing leaked.
// Usage: node http_emfile.mjs DAEMON (run by tests/integration/mcp_http_faults.sh)
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import {
    call, connect, count, cpuSecs, ok, openFds, report, rssKiB, sleep, startDaemon, step,
    stopDaemon, waitReady,
} from './http_fault_daemon.mjs';

const [bin] = process.argv.slice(2);
const NOFILE = Number(process.env.EMFILE_NOFILE || 512);
// The daemon's reserve: 64 + 256 (a workspace removal's deepest walk) + 8 per slot.
const RESERVE = 64 + 256 + 8 * Number(process.env.MAX_SANDBOXES || 4);
const CAP = NOFILE - RESERVE;
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

// Every workspace of the deployment is a mount of its own: no slot got a
// plain directory.
function workspacesMounted() {
    const root = process.env.WORKSPACE_ROOT;
    const rootDev = statSync(root).dev;
    const dirs = readdirSync(root).filter((n) => n.startsWith('omcp-') && !n.endsWith('.img'));
    for (const n of dirs)
        assert.notEqual(statSync(`${root}/${n}`).dev, rootDev, `workspace ${n} is not mounted`);
    return dirs.length;
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

    await step(`the HTTP cap is lowered to the ${CAP} descriptors left beyond the reserve`,
        async () => {
            const line = new RegExp('msg="client caps lowered to fit the open-file limit" ' +
                `nofile=${NOFILE} reserve=${RESERVE} http_max_connections=${CAP} `);
            assert.match(d.stderr, line);
            assert.equal(count(d.stderr, 'client caps lowered'), 1, 'logged once');
        });

    let cpuFrom, wallFrom, fdsBefore;
    await step('idle connections past the cap: the oldest give way, accept never fails',
        async () => {
            fdsBefore = openFds(d);
            const began = Date.now();
            socks = openIdle(d.port, NOFILE + 40);
            let evicted = 0;
            while (Date.now() - began < 20000) {
                evicted = Number(/omcp_http_connections_evicted_total (\d+)/
                    .exec(await (await fetch(`${d.base}/metrics`)).text())?.[1] ?? 0);
                if (evicted >= socks.length - CAP)
                    break;
                await sleep(100);
            }
            const fds = openFds(d);
            figures.push(`${socks.length} idle connections: ${evicted} gave way, ` +
                `${fds} descriptors open (${fdsBefore} before, cap ${CAP}, limit ${NOFILE})`);
            assert.ok(evicted >= socks.length - CAP, `only ${evicted} connections gave way`);
            assert.ok(fds <= fdsBefore + CAP + 8, `${fds} descriptors open`);
            assert.equal(count(d.stderr, 'accepting paused'), 0, 'accept never ran out');
            cpuFrom = cpuSecs(d);
            wallFrom = Date.now();
        });

    await step('at the cap: the open session goes on, a new session is created on a ' +
        'size-limited workspace, nothing spins', async () => {
        const began = Date.now();
        const r = await ok(a, 'execute_in_session', { session_id: sa.session_id, code: 'x + 1' },
            20000);
        assert.equal(r.value, 42);
        figures.push(`execute_in_session on the open session: ${Date.now() - began} ms`);
        for (const [tool, args] of [
            ['read_session_file', { session_id: sa.session_id, path: 'keep.txt' }],
            ['write_session_file', { session_id: sa.session_id, path: 'new.txt', content: 'n' }],
            ['list_session_files', { session_id: sa.session_id }],
            ['pool_status', {}],
        ])
            await ok(a, tool, args, 20000);
        const t = Date.now();
        const created = await ok(a, 'create_session', {}, 60000);
        extra = created.session_id;
        figures.push(`create_session at the cap: ${Date.now() - t} ms`);
        const big = await call(a, 'execute_in_session', { session_id: extra,
            code: 'writeBin(raw(64 * 2^20), "/sandbox/big"); file.size("/sandbox/big")' }, 60000);
        figures.push(`64 MiB written on the new session's workspace: ${JSON.stringify(
            big.success ? big.value : big.error.code)}`);
        const n = workspacesMounted();
        figures.push(`${n} workspaces, every one a mounted image`);
        assert.doesNotMatch(d.stderr, /workspace is a plain directory|could not be size-limited/);

        const wait = Math.max(0, 4000 - (Date.now() - wallFrom));
        await sleep(wait);
        const cpu = (cpuSecs(d) - cpuFrom) / ((Date.now() - wallFrom) / 1000);
        figures.push(`daemon CPU at the cap: ${(cpu * 100).toFixed(1)} %`);
        assert.equal(count(d.stderr, 'accepting paused'), 0, 'accept never ran out');
        assert.equal(d.proc.exitCode, null, 'the daemon runs');
    });

    await step('the connections close: a new MCP session works, the pool is ' +
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
