// The container engine comes and goes under live sessions: dockerd stopped
// and started again, then paused (SIGSTOP) and resumed. With --live-restore
// the containers keep running: a live session keeps working, an idle slot
// can still be leased, and once none is idle create_session fails with
// backend_unavailable within about a second; when the engine is back the
// pool heals by itself. Usage: node stdio_engine.mjs DAEMON CDM_FILE
// Needs root, and a dockerd started by docker/ensure-dockerd.sh.
// OMCP_TEST_LOG=1 prints the daemon's log at the end.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const [daemon] = process.argv.slice(2);
const ensure = `${process.env.OMCP_SOURCE_DIR}/docker/ensure-dockerd.sh`;
let passed = 0;
const figures = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const transport = new StdioClientTransport({
    command: daemon, args: ['--stdio'], env: process.env, stderr: 'pipe',
});
let stderr = '';
transport.stderr.on('data', (chunk) => { stderr += chunk; });
const client = new Client({ name: 'omcp-engine-test', version: '1.0.0' });

async function step(name, fn) {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
}

async function call(name, args) {
    return (await client.callTool({ name, arguments: args })).structuredContent;
}

async function ok(name, args) {
    const r = await call(name, args);
    assert.equal(r.success, true, `${name}: ${JSON.stringify(r.error)}`);
    return r;
}

function dockerdPid() {
    return execFileSync('pidof', ['dockerd'], { encoding: 'utf8' }).trim().split(' ')[0];
}

function engineAnswers() {
    try {
        execFileSync('docker', ['version', '--format', '{{.Server.Version}}'],
            { stdio: 'ignore', timeout: 3000 });
        return true;
    } catch {
        return false;
    }
}

async function waitHealed(what) {
    const began = Date.now();
    for (;;) {
        const s = await ok('pool_status', {});
        if (s.engine_up && s.ready && s.slots.creating + s.slots.starting + s.slots.warming === 0)
            return Date.now() - began;
        assert.ok(Date.now() - began < 90000, `${what}: pool did not heal within 90 s`);
        await sleep(200);
    }
}

// Leases idle slots until none is left; returns the sessions and the
// failure that followed, with how long that failure took.
async function drain() {
    const sessions = [];
    for (;;) {
        const began = Date.now();
        const r = await call('create_session', {});
        if (!r.success)
            return { sessions, error: r.error, ms: Date.now() - began };
        sessions.push(r.session_id);
        assert.ok(sessions.length <= 8, 'create_session kept succeeding');
    }
}

async function outage(kind, stop, resume) {
    await waitHealed(`before ${kind}`);
    const live = await ok('create_session', {});
    await ok('execute_in_session', { session_id: live.session_id, code: 'kept <- 7L' });
    const before = await ok('pool_status', {});
    assert.ok(before.slots.idle >= 1);
    stop();
    const began = Date.now();
    for (;;) {
        const s = await ok('pool_status', {});
        if (!s.engine_up)
            break;
        assert.ok(Date.now() - began < 5000, 'engine outage not seen within 5 s');
        await sleep(50);
    }
    const seen = Date.now() - began;
    const { sessions, error, ms } = await drain();
    assert.ok(sessions.length >= 1, 'an idle slot was still leased during the outage');
    assert.equal(error.code, 'backend_unavailable', JSON.stringify(error));
    assert.ok(ms < 1000, `backend_unavailable after ${ms} ms`);
    const kept = await ok('execute_in_session', { session_id: live.session_id, code: 'kept + 1L' });
    assert.equal(kept.value, 8, 'a live session works while the engine is away');
    await ok('write_session_file', { session_id: live.session_id, path: 'during.txt', content: kind });
    const back = await ok('read_session_file', { session_id: live.session_id, path: 'during.txt' });
    assert.equal(back.content, kind, 'the file tools need no engine');
    for (const id of [...sessions, live.session_id])
        await ok('close_session', { session_id: id });
    resume();
    const healed = await waitHealed(kind);
    figures.push(`${kind}: outage seen after ${seen} ms, backend_unavailable answered in ` +
        `${ms} ms, ${sessions.length} idle slot(s) still leased, healed ${healed} ms after the ` +
        'engine returned');
    const s = await ok('create_session', {});
    await ok('execute_in_session', { session_id: s.session_id, code: '1' });
    await ok('close_session', { session_id: s.session_id });
}

async function main() {
    await step('initialize; the pool reaches its warm target', async () => {
        await client.connect(transport);
        await waitHealed('start');
    });

    await step('dockerd stopped and started again', async () => {
        await outage('dockerd stopped', () => {
            const pid = dockerdPid();
            execFileSync('kill', ['-TERM', pid]);
            for (let i = 0; i < 100 && engineAnswers(); i++)
                execFileSync('sleep', ['0.2']);
        }, () => execFileSync('bash', [ensure], { stdio: 'ignore' }));
        assert.match(stderr, /msg="container engine unreachable"/);
        assert.match(stderr, /msg="container engine answers"/);
    });

    await step('dockerd paused (SIGSTOP) and resumed', async () => {
        let pid;
        await outage('dockerd paused', () => {
            pid = dockerdPid();
            execFileSync('kill', ['-STOP', pid]);
        }, () => execFileSync('kill', ['-CONT', pid]));
    });

    await step('the client leaves; the daemon stops cleanly', async () => {
        await client.close();
        assert.doesNotMatch(stderr, /Sanitizer|runtime error:/, 'sanitizer report');
    });
}

try {
    await main();
    for (const f of figures)
        console.log(`figure: ${f}`);
    console.log(`${passed} steps passed`);
    if (process.env.OMCP_TEST_LOG)
        console.log(stderr);
} catch (err) {
    console.log(`FAIL after ${passed} steps: ${err.stack ?? err}`);
    console.log('--- daemon stderr (last 60 lines) ---');
    console.log(stderr.split('\n').slice(-60).join('\n'));
    try {
        execFileSync('pkill', ['-CONT', 'dockerd']);
    } catch { /* not paused */ }
    if (!engineAnswers())
        execFileSync('bash', [ensure], { stdio: 'ignore' });
    await client.close().catch(() => {});
    process.exit(1);
}
