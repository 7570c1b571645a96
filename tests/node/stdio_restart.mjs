// A crash of the daemon loses no file and leaks no container: sessions live
// and idle, one whose container died, then `kill -9` of the daemon and a
// restart on the same state directory. Afterwards every labelled container
// is one the new daemon runs, the live session is back (R afresh, files
// intact), the lost one's files can still be read, and a corrupt state file
// is set aside with a log line. Usage: node stdio_restart.mjs DAEMON CDM_FILE
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const [daemon] = process.argv.slice(2);
const stateDir = process.env.STATE_DIR;
const statePath = `${stateDir}/pool-state.msgpack`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let passed = 0;
const figures = [];
let run; // the daemon being talked to

async function step(name, fn) {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
}

async function start() {
    const transport = new StdioClientTransport({
        command: daemon, args: ['--stdio'], env: process.env, stderr: 'pipe',
    });
    const client = new Client({ name: 'omcp-restart-test', version: '1.0.0' });
    const r = { transport, client, stderr: '' };
    transport.stderr.on('data', (chunk) => { r.stderr += chunk; });
    await client.connect(transport);
    return r;
}

async function call(name, args) {
    return (await run.client.callTool({ name, arguments: args })).structuredContent;
}

async function ok(name, args) {
    const r = await call(name, args);
    assert.equal(r.success, true, `${name}: ${JSON.stringify(r.error)}`);
    return r;
}

function labelled(all) {
    const out = execFileSync('docker', ['ps', ...(all ? ['-a'] : []), '-q', '--no-trunc',
        '--filter', `label=org.omcp.pool=${stateDir}`], { encoding: 'utf8' }).trim();
    return out ? out.split('\n').sort() : [];
}

async function waitReady(what) {
    const began = Date.now();
    for (;;) {
        const s = await ok('pool_status', {});
        if (s.ready && s.slots.creating + s.slots.starting + s.slots.warming === 0)
            return { status: s, ms: Date.now() - began };
        assert.ok(Date.now() - began < 120000, `${what}: pool not ready`);
        await sleep(200);
    }
}

async function readText(session_id, path) {
    return (await ok('read_session_file', { session_id, path })).content;
}

async function main() {
    let live, lost;

    await step('first daemon: a live session, a lost one, idle slots', async () => {
        run = await start();
        await waitReady('first start');
        live = (await ok('create_session', {})).session_id;
        lost = (await ok('create_session', {})).session_id;
        await ok('execute_in_session',
            { session_id: live, code: 'x <- 42; writeLines("from R", "/sandbox/r.txt")' });
        await ok('write_session_file', { session_id: live, path: 'tool.txt', content: 'from the tool' });
        await ok('execute_in_session', { session_id: lost, code: 'writeLines("kept", "/sandbox/k.txt")' });
        const host = (await ok('execute_in_session',
            { session_id: lost, code: 'Sys.info()[["nodename"]]' })).value;
        execFileSync('docker', ['kill', host], { stdio: 'ignore' });
        for (let i = 0; ; i++) {
            const r = await call('execute_in_session', { session_id: lost, code: '1' });
            if (!r.success && r.error.code === 'session_lost')
                break;
            assert.ok(i < 50, 'the killed container was not noticed');
            await sleep(100);
        }
        assert.equal(await readText(lost, 'k.txt'), 'kept\n', 'files outlive the container');
        await waitReady('after the container kill');
    });

    let before;
    await step('kill -9 of the daemon, restart on the same state directory', async () => {
        before = labelled(false);
        assert.ok(before.length >= 3, `${before.length} containers running before the crash`);
        assert.ok(existsSync(statePath), 'the state file exists');
        process.kill(run.transport.pid, 'SIGKILL');
        await run.client.close().catch(() => {});
        const began = Date.now();
        run = await start();
        const { status, ms } = await waitReady('restart');
        figures.push(`restart with ${before.length} containers: pool ready ${Date.now() - began} ` +
            `ms after start (${ms} ms after initialize)`);
        assert.ok(status.counters.adopted >= 3, `adopted ${status.counters.adopted}`);
        assert.match(run.stderr, /msg="adopted from the state file"/);
        const total = Object.values(status.slots).reduce((a, b) => a + b, 0);
        assert.equal(labelled(true).length, total, 'every labelled container is a slot of the pool');
    });

    await step('the live session is back: R afresh, its files intact', async () => {
        const list = await ok('list_sessions', {});
        assert.deepEqual(list.sessions.map((s) => s.session_id).sort(), [live, lost].sort());
        let r;
        for (let i = 0; ; i++) {
            r = await call('execute_in_session', { session_id: live, code: 'exists("x")' });
            if (r.success || r.error.code !== 'session_busy')
                break;
            assert.ok(i < 100, 'still being restored');
            await sleep(100);
        }
        assert.equal(r.success, true, JSON.stringify(r.error));
        assert.equal(r.value, false, 'R variables do not survive the crash');
        assert.equal(r.meta.r_session_restarted, true);
        assert.equal(await readText(live, 'r.txt'), 'from R\n');
        assert.equal(await readText(live, 'tool.txt'), 'from the tool');
        const again = await ok('execute_in_session', { session_id: live, code: 'readLines("r.txt")' });
        assert.equal(again.value, 'from R');
        assert.equal(again.meta.r_session_restarted, undefined);
    });

    await step('the lost session: files still readable, R calls answer session_lost', async () => {
        assert.equal(await readText(lost, 'k.txt'), 'kept\n');
        const r = await call('execute_in_session', { session_id: lost, code: '1' });
        assert.equal(r.error.code, 'session_lost');
    });

    await step('closing both and stopping leaves no container, directory or session', async () => {
        await ok('close_session', { session_id: live });
        await ok('close_session', { session_id: lost });
        await run.client.close();
        for (let i = 0; labelled(true).length > 0; i++) {
            assert.ok(i < 50, 'containers left after the stop');
            await sleep(200);
        }
        assert.deepEqual(readdirSync(`${stateDir}/workspaces`), []);
        assert.doesNotMatch(run.stderr, /Sanitizer|runtime error:/);
    });

    await step('a corrupt state file is set aside with a log line and a clean start', async () => {
        writeFileSync(statePath, Buffer.from([0x85, 0xa7, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f]));
        run = await start();
        await waitReady('start after corruption');
        assert.match(run.stderr, /msg="state file unreadable; set aside, starting clean"/);
        assert.ok(readdirSync(stateDir).some((f) => f.startsWith('pool-state.msgpack.bad-')));
        assert.deepEqual((await ok('list_sessions', {})).sessions, []);
        await run.client.close();
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
    console.log((run?.stderr ?? '').split('\n').slice(-60).join('\n'));
    await run?.client.close().catch(() => {});
    process.exit(1);
}
