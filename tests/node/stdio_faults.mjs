// Faults under real sessions, as an MCP client sees them: a container killed
// mid-evaluation, the R process killed, an out-of-memory kill, R stuck in a
// call that ignores interrupts, an idle container removed from outside.
// Each asserts the error code, how long it took, the daemon's log line, and
// the pool back at its warm target. Usage: node stdio_faults.mjs DAEMON CDM_FILE
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const [daemon] = process.argv.slice(2);
assert.ok(daemon, 'usage: node stdio_faults.mjs DAEMON CDM_FILE');
const GRACE = Number(process.env.INTERRUPT_GRACE_SECS);
assert.ok(GRACE > 0, 'INTERRUPT_GRACE_SECS must be set');

let passed = 0;
const figures = [];
async function step(name, fn) {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
}

const transport = new StdioClientTransport({
    command: daemon, args: ['--stdio'], env: process.env, stderr: 'pipe',
});
let stderr = '';
transport.stderr.on('data', (chunk) => { stderr += chunk; });
const client = new Client({ name: 'omcp-faults-test', version: '1.0.0' });

async function call(name, args) {
    return (await client.callTool({ name, arguments: args })).structuredContent;
}

async function ok(name, args) {
    const r = await call(name, args);
    assert.equal(r.success, true, `${name}: ${JSON.stringify(r.error)}`);
    return r;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitReady(what, limitMs) {
    const began = Date.now();
    for (;;) {
        const status = await ok('pool_status', {});
        if (status.ready && status.slots.creating + status.slots.starting +
            status.slots.warming === 0)
            return Date.now() - began;
        assert.ok(Date.now() - began < limitMs, `${what}: pool not back at its target`);
        await sleep(200);
    }
}

async function newSession() {
    const s = await ok('create_session', {});
    const host = await ok('execute_in_session',
        { session_id: s.session_id, code: 'Sys.info()[["nodename"]]' });
    return { id: s.session_id, container: host.value };
}

// Runs code that should end the session; returns the failure and its time.
async function lose(session, code, limits, during) {
    const began = Date.now();
    const pending = call('execute_in_session',
        limits ? { session_id: session.id, code, limits } : { session_id: session.id, code });
    if (during)
        setTimeout(during, 500);
    const r = await pending;
    const ms = Date.now() - began;
    assert.equal(r.success, false);
    assert.equal(r.error.code, 'session_lost', JSON.stringify(r.error));
    const again = await call('execute_in_session', { session_id: session.id, code: '1' });
    assert.equal(again.error.code, 'session_lost', 'the next call says so too');
    return { error: r.error, ms };
}

function logged(pattern) {
    assert.match(stderr, pattern);
}

async function main() {
    await step('initialize; the pool reaches its warm target', async () => {
        await client.connect(transport);
        await waitReady('start', 120000);
    });

    await step('a container killed mid-evaluation: session_lost at once', async () => {
        const s = await newSession();
        const { error, ms } = await lose(s, 'Sys.sleep(30)', null, () =>
            execFileSync('docker', ['kill', s.container], { stdio: 'ignore' }));
        assert.ok(ms < 3000, `answered after ${ms} ms`);
        assert.ok(['container_exited', 'connection_closed'].includes(error.details.reason),
            error.details.reason);
        logged(/msg="lease lost".*code=session_lost cause=(container_exited|connection_closed)/);
        figures.push(`container killed mid-eval: answered ${ms - 500} ms after the kill, ` +
            `pool back in ${await waitReady('kill', 60000)} ms`);
        await ok('close_session', { session_id: s.id });
    });

    await step('the R process killed: session_lost, connection_closed', async () => {
        const s = await newSession();
        const { error, ms } = await lose(s, 'tools::pskill(Sys.getpid(), tools::SIGKILL)');
        assert.equal(error.details.reason, 'connection_closed');
        figures.push(`R killed: answered in ${ms} ms, pool back in ` +
            `${await waitReady('R killed', 60000)} ms`);
        await ok('close_session', { session_id: s.id });
    });

    await step('a memory bomb: session_lost with reason out_of_memory', async () => {
        const s = await newSession();
        const { error, ms } = await lose(s,
            'x <- list(); for (i in 1:64) x[[i]] <- rep(as.numeric(i), 2.5e7); length(x)');
        assert.equal(error.details.reason, 'out_of_memory', JSON.stringify(error));
        assert.match(error.message, /out of memory/);
        logged(/cause=out_of_memory/);
        figures.push(`memory bomb: answered in ${ms} ms, pool back in ` +
            `${await waitReady('oom', 60000)} ms`);
        await ok('close_session', { session_id: s.id });
    });

    await step('R stuck where SIGINT does not reach: killed within limit + grace + 2 s', async () => {
        const s = await newSession();
        const { error, ms } = await lose(s, 'system("sleep 60")', { max_duration_secs: 1 });
        assert.equal(error.details.reason, 'interrupt_ignored');
        assert.ok(ms < (1 + GRACE + 2) * 1000, `answered after ${ms} ms`);
        logged(/R did not stop within the interrupt grace; container killed/);
        figures.push(`uninterruptible call, limit 1 s, grace ${GRACE} s: answered in ${ms} ms`);
        await waitReady('stuck', 60000);
        await ok('close_session', { session_id: s.id });
    });

    await step('an idle container removed from outside is replaced', async () => {
        await waitReady('before removal', 60000);
        const before = await ok('pool_status', {});
        const ids = execFileSync('docker', ['ps', '-q', '--filter',
            `label=org.omcp.pool=${process.env.STATE_DIR}`], { encoding: 'utf8' }).trim().split('\n');
        const began = Date.now();
        execFileSync('docker', ['rm', '-f', ids[0]], { stdio: 'ignore' });
        for (;;) {
            const status = await ok('pool_status', {});
            if (status.counters.created > before.counters.created)
                break;
            assert.ok(Date.now() - began < 10000, 'no replacement started');
            await sleep(50);
        }
        const detect = Date.now() - began;
        figures.push(`idle container removed: replacement started after ${detect} ms, ` +
            `pool back in ${await waitReady('removed', 60000)} ms`);
        const s = await newSession();
        assert.equal((await ok('execute_in_session', { session_id: s.id, code: '1 + 1' })).value, 2);
        await ok('close_session', { session_id: s.id });
    });

    await step('an idle slot whose R stops answering is retired by its probe', async () => {
        await waitReady('before the probe', 60000);
        const before = await ok('pool_status', {});
        const id = execFileSync('docker', ['ps', '-q', '--filter',
            `label=org.omcp.pool=${process.env.STATE_DIR}`], { encoding: 'utf8' }).trim().split('\n')[0];
        const parent = execFileSync('docker', ['inspect', '-f', '{{.State.Pid}}', id],
            { encoding: 'utf8' }).trim();
        const child = execFileSync('pgrep', ['-P', parent], { encoding: 'utf8' }).trim().split('\n')[0];
        const began = Date.now();
        execFileSync('kill', ['-STOP', child]);
        for (;;) {
            const status = await ok('pool_status', {});
            if (status.counters.created > before.counters.created)
                break;
            assert.ok(Date.now() - began < 45000, 'the stopped slot was not retired');
            await sleep(250);
        }
        logged(/reason="idle probe not answered"/);
        figures.push(`idle R stopped (SIGSTOP): retired by the probe after ${Date.now() - began} ms ` +
            '(probe every 30 s, 5 s to answer)');
        await waitReady('after the probe', 60000);
    });

    await step('the client leaves; the daemon stops cleanly', async () => {
        await client.close();
        assert.doesNotMatch(stderr, /level=error/);
        assert.doesNotMatch(stderr, /Sanitizer|runtime error:/, 'sanitizer report');
    });
}

try {
    await main();
    for (const f of figures)
        console.log(`figure: ${f}`);
    console.log(`${passed} steps passed`);
} catch (err) {
    console.log(`FAIL after ${passed} steps: ${err.stack ?? err}`);
    console.log('--- daemon stderr (last 60 lines) ---');
    console.log(stderr.split('\n').slice(-60).join('\n'));
    await client.close().catch(() => {});
    process.exit(1);
}
