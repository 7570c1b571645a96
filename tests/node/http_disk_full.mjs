// The state directory's filesystem fills up: sessions live with files in
// their workspaces (which live elsewhere), then a file takes the last free
// block of STATE_DIR. A new lease could not be recorded, so create_session
// and a QAP1 client are refused with a structured error, /readyz says not
// ready, the condition is logged once, and the sessions already recorded go
// on with every file. Once the file is deleted the daemon writes its state
// again by itself and new sessions work.
// Usage: node http_disk_full.mjs DAEMON (run by tests/integration/mcp_http_faults.sh
// with STATE_FS_SIZE set)
import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import net from 'node:net';
import {
    call, connect, count, fails, freePort, ok, report, rssKiB, sleep, startDaemon, step, stopDaemon,
    waitReady,
} from './http_fault_daemon.mjs';

const [bin] = process.argv.slice(2);
const stateDir = process.env.STATE_DIR;
const statePath = `${stateDir}/pool-state.msgpack`;
const filler = `${stateDir}/filler`;
const figures = [];
let d, qapPort;

// Writes zeros into path until the filesystem refuses (ENOSPC).
function fill(path) {
    const fd = openSync(path, 'w');
    const chunk = Buffer.alloc(1 << 20);
    let bytes = 0;
    try {
        for (;;) {
            bytes += writeSync(fd, chunk);
        }
    } catch (e) {
        assert.equal(e.code, 'ENOSPC', `filling: ${e.message}`);
    }
    try {
        for (;;)
            bytes += writeSync(fd, chunk, 0, 512);
    } catch { /* the last partial block */ }
    closeSync(fd);
    return bytes;
}

async function readyz() {
    return (await fetch(`${d.base}/readyz`, { signal: AbortSignal.timeout(5000) })).status;
}

async function metric(name) {
    const text = await (await fetch(`${d.base}/metrics`)).text();
    return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)[1]);
}

// A QAP1 client's first command once the lease was tried: its answer's
// command word (RESP_ERR with status 0x62 is Rserve's ERR_unavailable).
function qapFirstAnswer() {
    return new Promise((resolve, reject) => {
        const sock = net.connect(qapPort, '127.0.0.1');
        let data = Buffer.alloc(0);
        let sent = false;
        sock.setTimeout(10000, () => { sock.destroy(); reject(new Error('QAP1 answer timed out')); });
        sock.on('error', reject);
        sock.on('data', (chunk) => {
            data = Buffer.concat([data, chunk]);
            if (!sent && data.length >= 32) {
                sent = true;
                const expr = Buffer.from('1\0\0\0');
                const param = Buffer.alloc(4);
                param.writeUInt32LE(4 | (expr.length << 8));
                const head = Buffer.alloc(16);
                head.writeUInt32LE(3, 0); // CMD_eval
                head.writeUInt32LE(param.length + expr.length, 4);
                sock.write(Buffer.concat([head, param, expr]));
            }
            if (sent && data.length >= 48) {
                sock.destroy();
                resolve(data.readUInt32LE(32));
            }
        });
    });
}

async function main() {
    let a, s1, s2, rssBefore, fullAt;

    await step('sessions live with files; the state file is written', async () => {
        qapPort = await freePort();
        d = await startDaemon(bin, { env: { QAP_LISTEN: `127.0.0.1:${qapPort}` } });
        await waitReady(d, 'start');
        a = await connect(d, 'omcp-disk-full');
        s1 = (await ok(a, 'create_session', {})).session_id;
        s2 = (await ok(a, 'create_session', {})).session_id;
        await ok(a, 'execute_in_session', { session_id: s1, code: 'x <- 41; writeLines("from R", "r.txt")' });
        await ok(a, 'write_session_file', { session_id: s1, path: 'tool.txt', content: 'from the tool' });
        await ok(a, 'write_session_file', { session_id: s2, path: 'two.txt', content: 'second' });
        await waitReady(d, 'refill');
        const state = readFileSync(statePath);
        assert.ok(state.includes(s1) && state.includes(s2), 'both leases are in the state file');
        rssBefore = rssKiB(d);
    });

    await step('the state filesystem fills: new leases refused with state_unavailable, /readyz ' +
        '503, logged once', async () => {
        const bytes = fill(filler);
        fullAt = Date.now();
        const r = await fails(a, 'create_session', {}, 'state_unavailable');
        figures.push(`filler of ${(bytes / 1048576).toFixed(1)} MiB; create_session refused ` +
            `${Date.now() - fullAt} ms after the disk filled`);
        assert.equal(r.error.retryable, true);
        for (let i = 0; (await readyz()) !== 503; i++) {
            assert.ok(i < 50, '/readyz stays 200 with a full state directory');
            await sleep(100);
        }
        figures.push(`/readyz 503 ${Date.now() - fullAt} ms after the disk filled`);
        assert.equal(await metric('omcp_pool_state_writable'), 0);
        const status = await ok(a, 'pool_status', {});
        assert.equal(status.state_writable, false);
        assert.equal(status.ready, false);
        const answer = await qapFirstAnswer();
        assert.equal(answer & 0xffffff, 0x10002, 'QAP1: an error answer');
        assert.equal((answer >>> 24) & 0x7f, 0x62, 'QAP1: ERR_unavailable');
    });

    await step('the sessions already recorded go on and lose no file', async () => {
        assert.equal((await ok(a, 'execute_in_session', { session_id: s1, code: 'x + 1' })).value, 42);
        assert.equal((await ok(a, 'read_session_file', { session_id: s1, path: 'r.txt' })).content,
            'from R\n');
        assert.equal((await ok(a, 'read_session_file', { session_id: s1, path: 'tool.txt' })).content,
            'from the tool');
        await ok(a, 'write_session_file', { session_id: s2, path: 'during.txt', content: 'while full' });
        assert.equal((await ok(a, 'read_session_file', { session_id: s2, path: 'two.txt' })).content,
            'second');
        await fails(a, 'create_session', {}, 'state_unavailable');
        await sleep(3000); // retries every second, and the sweeps go on
        assert.equal(count(d.stderr, 'msg="cannot write the state file'), 1, 'logged once');
        assert.equal(d.proc.exitCode, null, 'the daemon runs');
    });

    await step('the filler is deleted: the state is written again, new sessions work', async () => {
        const before = statSync(statePath).mtimeMs;
        unlinkSync(filler);
        const began = Date.now();
        for (let i = 0; (await readyz()) !== 200; i++) {
            assert.ok(i < 300, '/readyz not 200 within 30 s of the disk emptying');
            await sleep(100);
        }
        figures.push(`/readyz 200 again ${Date.now() - began} ms after the filler was deleted ` +
            `(${((began - fullAt) / 1000).toFixed(1)} s full)`);
        assert.match(d.stderr, /msg="state file written again; leases accepted"/);
        assert.equal(count(d.stderr, 'msg="state file written again'), 1);
        assert.ok(statSync(statePath).mtimeMs > before, 'the state file was written again');
        const s3 = (await ok(a, 'create_session', {})).session_id;
        figures.push(`create_session works ${Date.now() - began} ms after the filler was deleted`);
        assert.equal((await ok(a, 'execute_in_session', { session_id: s3, code: '6 * 7' })).value, 42);
        await sleep(500);
        const state = readFileSync(statePath);
        assert.ok(state.includes(s1) && state.includes(s3), 'the new lease is recorded');
        assert.equal(await metric('omcp_pool_state_writable'), 1);
        assert.ok(await metric('omcp_pool_state_write_failures_total') >= 1);
        await ok(a, 'close_session', { session_id: s3 });
        await waitReady(d, 'after the disk emptied', 60000);
        const rssAfter = rssKiB(d);
        figures.push(`RSS ${rssBefore} KiB before, ${rssAfter} KiB after`);
        assert.ok(rssAfter < rssBefore + 16384, `RSS grew from ${rssBefore} to ${rssAfter} KiB`);
    });

    await step('SIGTERM: sessions close, the daemon stops cleanly', async () => {
        for (const id of [s1, s2])
            await ok(a, 'close_session', { session_id: id });
        await a.client.close();
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
