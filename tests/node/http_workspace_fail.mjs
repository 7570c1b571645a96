// Workspaces that cannot get their image: WORKSPACE_ROOT is a filesystem
// without room for an image's metadata, so mkfs fails for every slot. No
// slot may then reach a container with a plain-directory workspace: each is
// retired with its reason logged, the pool backs off as after a failed
// start, and an acquire fails with a structured error. Once the filesystem
// has room the pool fills again on its own, and a new session's workspace
// is a mounted image.
// Usage: node http_workspace_fail.mjs DAEMON (run by tests/integration/mcp_http_faults.sh
// with WORKSPACE_FS_SIZE set)
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import {
    call, connect, count, ok, report, sleep, startDaemon, step, stopDaemon, waitReady,
} from './http_fault_daemon.mjs';

const [bin] = process.argv.slice(2);
const root = process.env.WORKSPACE_ROOT;
const figures = [];
let d;

async function waitCount(re, n, what, limitMs = 30000) {
    const began = Date.now();
    while (count(d.stderr, re) < n) {
        assert.ok(Date.now() - began < limitMs, `${what}: not ${n} times within ${limitMs} ms`);
        await sleep(100);
    }
    return Date.now() - began;
}

function workspacesMounted() {
    const rootDev = statSync(root).dev;
    const dirs = readdirSync(root).filter((n) => n.startsWith('omcp-') && !n.endsWith('.img'));
    for (const n of dirs)
        assert.notEqual(statSync(`${root}/${n}`).dev, rootDev, `workspace ${n} is not mounted`);
    return dirs.length;
}

async function main() {
    let a;

    await step('no room for images: every slot fails, logged, none gets a container',
        async () => {
            d = await startDaemon(bin, { env: { POOL_ACQUIRE_TIMEOUT: '3' } });
            const ms = await waitCount('msg="workspace could not be size-limited; not used"', 4,
                'workspace failure');
            await waitCount('the workspace could not be size-limited', 4, 'slot retired');
            figures.push(`4 workspace failures logged within ${ms} ms`);
            assert.equal(count(d.stderr, 'msg="warm"'), 0, 'a slot got warm');
            assert.equal(count(d.stderr, 'workspace is a plain directory'), 0);
            const r = await fetch(`${d.base}/readyz`);
            assert.notEqual(r.status, 200, '/readyz while no slot can be made');
        });

    await step('meanwhile: an acquire fails with a structured error, the pool backs off',
        async () => {
            a = await connect(d, 'omcp-wsfail');
            const r = await call(a, 'create_session', {}, 30000);
            assert.equal(r.success, false, 'a session on a failed workspace');
            assert.equal(typeof r.error.message, 'string');
            assert.equal(r.error.retryable, true);
            figures.push(`create_session: ${r.error.code}`);
            const from = count(d.stderr, 'msg="creating"');
            await sleep(6000);
            const made = count(d.stderr, 'msg="creating"') - from;
            figures.push(`slots tried in 6 s of failures: ${made}`);
            assert.ok(made <= 12, `${made} slots in 6 s: no backoff`);
            const metrics = await (await fetch(`${d.base}/metrics`)).text();
            assert.match(metrics, /omcp_pool_slots\{state="idle"\} 0/);
            assert.equal(count(d.stderr, 'msg="warm"'), 0, 'a slot got warm');
        });

    await step('room again: the pool fills, a new session is on a mounted image', async () => {
        const began = Date.now();
        execFileSync('mount', ['-o', 'remount,size=4g', root]);
        const readyMs = await waitReady(d, 'after room came back', 120000);
        figures.push(`pool warm ${Date.now() - began} ms after the room came back ` +
            `(readyz waited ${readyMs} ms)`);
        const s = await ok(a, 'create_session', {}, 60000);
        const w = await ok(a, 'execute_in_session', { session_id: s.session_id,
            code: 'writeLines("x", "/sandbox/f"); file.exists("/sandbox/f")' });
        assert.equal(w.value, true);
        const n = workspacesMounted();
        figures.push(`${n} workspaces, every one a mounted image`);
        assert.equal(count(d.stderr, 'workspace is a plain directory'), 0);
        await ok(a, 'close_session', { session_id: s.session_id });
        await a.client.close();
    });

    await step('SIGTERM: the daemon stops cleanly', async () => {
        await stopDaemon(d);
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
