// What the HTTP fault scenarios share: the daemon on 127.0.0.1 at a free
// port (optionally under a lower open-file limit), SDK clients, tool calls
// that check the error envelope, and the daemon's resource use from /proc.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let passed = 0;

export async function step(name, fn) {
    const began = Date.now();
    await fn();
    passed++;
    console.log(`ok   ${name} (${Date.now() - began} ms)`);
}

export function freePort() {
    return new Promise((resolve) => {
        const srv = net.createServer();
        srv.listen(0, '127.0.0.1', () => {
            const { port } = srv.address();
            srv.close(() => resolve(port));
        });
    });
}

// The daemon with HTTP only; nofile lowers its soft and hard open-file limit.
export async function startDaemon(bin, { nofile, env = {} } = {}) {
    const port = await freePort();
    const args = ['--http', `127.0.0.1:${port}`];
    const d = { base: `http://127.0.0.1:${port}`, port, stderr: '' };
    d.proc = nofile
        ? spawn('/bin/sh', ['-c', `ulimit -n ${nofile} && exec "$0" "$@"`, bin, ...args],
            { env: { ...process.env, QAP_LISTEN: '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] })
        : spawn(bin, args,
            { env: { ...process.env, QAP_LISTEN: '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    d.proc.stderr.on('data', (chunk) => { d.stderr += chunk; });
    d.exited = new Promise((resolve) => d.proc.on('exit', (code, signal) => resolve({ code, signal })));
    for (let i = 0; i < 100; i++) {
        try {
            if ((await fetch(`${d.base}/healthz`)).ok)
                return d;
        } catch { /* not listening yet */ }
        await sleep(100);
    }
    assert.fail('daemon did not listen within 10 s');
}

export async function waitReady(d, what, limitMs = 120000) {
    const began = Date.now();
    for (;;) {
        const r = await fetch(`${d.base}/readyz`, { signal: AbortSignal.timeout(5000) });
        if (r.status === 200)
            return Date.now() - began;
        assert.ok(Date.now() - began < limitMs, `${what}: /readyz not 200 within ${limitMs} ms`);
        await sleep(200);
    }
}

export async function connect(d, name) {
    const transport = new StreamableHTTPClientTransport(new URL(`${d.base}/mcp`));
    const client = new Client({ name, version: '1.0.0' });
    await client.connect(transport);
    return { client, transport };
}

// A tool call; its structured result, with the text content checked
// against it. timeoutMs bounds the call as a client's own timeout would.
export async function call(c, name, args, timeoutMs = 60000) {
    const result = await c.client.callTool({ name, arguments: args }, undefined,
        { timeout: timeoutMs });
    assert.deepEqual(JSON.parse(result.content[0].text), result.structuredContent, `${name} text`);
    return result.structuredContent;
}

export async function ok(c, name, args, timeoutMs) {
    const r = await call(c, name, args, timeoutMs);
    assert.equal(r.success, true, `${name}: ${JSON.stringify(r.error)}`);
    return r;
}

export async function fails(c, name, args, code) {
    const r = await call(c, name, args);
    assert.equal(r.success, false, `${name} should fail with ${code}`);
    assert.equal(r.error.code, code, JSON.stringify(r.error));
    assert.equal(typeof r.error.message, 'string');
    assert.equal(typeof r.error.retryable, 'boolean');
    return r;
}

export function rssKiB(d) {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${d.proc.pid}/status`, 'utf8'))[1]);
}

// CPU seconds the daemon used so far (user + system).
export function cpuSecs(d) {
    const fields = readFileSync(`/proc/${d.proc.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
}

export function openFds(d) {
    return readdirSync(`/proc/${d.proc.pid}/fd`).length;
}

export function count(text, re) {
    return (text.match(new RegExp(re, 'g')) || []).length;
}

// SIGTERM: the daemon drains, removes its containers and exits 0.
export async function stopDaemon(d) {
    d.proc.kill('SIGTERM');
    const { code, signal } = await d.exited;
    assert.equal(code, 0, `exit status (signal ${signal})`);
    assert.doesNotMatch(d.stderr, /Sanitizer|runtime error:/, 'sanitizer report');
}

export function report(figures, d) {
    for (const f of figures)
        console.log(`figure: ${f}`);
    console.log(`${passed} steps passed`);
    if (d) {
        const notable = d.stderr.split('\n').filter((l) => /level=(warn|error)/.test(l));
        console.log(`--- daemon warnings and errors (${notable.length}, first 20) ---`);
        console.log(notable.slice(0, 20).join('\n'));
    }
    if (d && process.exitCode) {
        console.log('--- daemon stderr (last 60 lines) ---');
        console.log(d.stderr.split('\n').slice(-60).join('\n'));
    }
}
