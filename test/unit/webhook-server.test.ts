// The webhook's HTTPS server over real sockets, in-process: the TLS policy (Mozilla
// intermediate) with an RSA certificate, as cert-manager issues by default, so the
// RSA-key-exchange suites would be possible if the policy allowed them; and bodies
// that stall, which must neither pile up memory nor keep a valid review from an answer.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { webcrypto } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createWebhookServer } from '../../webhook/https-server.ts';
import { createAdmissionHandler } from '../../webhook/admission-handler.ts';
import { testLogger } from '../helpers/test-logger.ts';
import { defer } from '../helpers/cleanup.ts';
import { waitFor } from '../helpers/cli-process.ts';
import { A, mutateContext, podReview } from '../helpers/admission-review.ts';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

async function rsaPair(): Promise<{ cert: string; key: string }> {
  const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=localhost',
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    keys,
    signingAlgorithm: alg,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'localhost' }])],
  });
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { cert: cert.toString('pem'), key: `-----BEGIN PRIVATE KEY-----\n${der.toString('base64')}\n-----END PRIVATE KEY-----\n` };
}

const context = mutateContext();
const REVIEW = JSON.stringify(podReview({ [A('inject')]: 'true', [A('namespaces')]: 'ml' }));

type Limits = { maxBodyBytes: number; bodyTimeoutMs: number; maxInflightBytes: number; headersTimeoutMs: number };

async function startServer(t: Parameters<typeof defer>[0], limits: Limits) {
  const pair = await rsaPair();
  const { logger, lines } = testLogger('info');
  const handler = createAdmissionHandler({ context, ready: () => ({ ok: true, reason: 'test' }), logger, limits });
  const clientErrors: string[] = [];
  const server = createWebhookServer(pair, limits, (req, res) => void handler(req, res));
  server.on('tlsClientError', (error: NodeJS.ErrnoException) => clientErrors.push(error.code ?? error.message));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  defer(t, async () => {
    server.closeAllConnections();
    server.close();
  });
  return { port: (server.address() as AddressInfo).port, ca: pair.cert, clientErrors, lines };
}

function handshake(
  port: number,
  ca: string,
  extra: ConnectionOptions,
): Promise<{ ok: true; protocol: string; cipher: string } | { ok: false }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost', ...extra }, () => {
      resolve({ ok: true, protocol: socket.getProtocol() ?? '', cipher: socket.getCipher().name });
      socket.end();
    });
    socket.on('error', () => resolve({ ok: false }));
  });
}

const generous: Limits = { maxBodyBytes: 3 * 1024 * 1024, bodyTimeoutMs: 2000, maxInflightBytes: 32 * 1024 * 1024, headersTimeoutMs: 2000 };

test('TLS: 1.3 and 1.2 ECDHE+AEAD are served; RSA key exchange, CBC and TLS 1.1 are refused by the server (issue 12 #8)', async (t) => {
  const { port, ca, clientErrors } = await startServer(t, generous);
  const tls13 = await handshake(port, ca, {});
  assert.deepEqual(tls13.ok && tls13.protocol, 'TLSv1.3');
  const ecdhe = await handshake(port, ca, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' });
  assert.deepEqual(ecdhe.ok && [ecdhe.protocol, ecdhe.cipher], ['TLSv1.2', 'ECDHE-RSA-AES128-GCM-SHA256']);
  const refused: Array<[string, ConnectionOptions]> = [
    ['RSA key exchange, CBC-SHA', { maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA' }],
    ['RSA key exchange, AEAD', { maxVersion: 'TLSv1.2', ciphers: 'AES128-GCM-SHA256' }],
    ['ECDHE with CBC-SHA', { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-SHA' }],
    ['TLS 1.1', { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }],
  ];
  for (const [name, client] of refused) {
    const before = clientErrors.length;
    assert.deepEqual(await handshake(port, ca, client), { ok: false }, name);
    // The server itself refused the handshake (not the client failing to offer anything).
    await waitFor(
      () => clientErrors.length > before,
      undefined,
      () => `server-side refusal of ${name}`,
    );
  }
});

type RawAnswer = { status: number | undefined; closed: boolean; text: string };

/**
 * A raw HTTPS client: sends headers and `sendBytes` of the body, then stalls; records the answer and the close.
 * With `declared`, the body has that Content-Length; otherwise it is chunked. Without `headers`, headers never end.
 */
function stallingClient(port: number, ca: string, sendBytes: number, options: { declared?: number; headers?: boolean } = {}) {
  const answer: RawAnswer = { status: undefined, closed: false, text: '' };
  const chunked = options.declared === undefined;
  const socket: TLSSocket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
    if (options.headers === false) return void socket.write('POST /mutate HTTP/1.1\r\nHost: x\r\n');
    const length = chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${options.declared}`;
    socket.write(`POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${length}\r\n\r\n`);
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    for (let sent = 0; sent < sendBytes; sent += chunk.length)
      socket.write(chunked ? `${chunk.length.toString(16)}\r\n${chunk}\r\n` : chunk);
  });
  socket.setEncoding('utf8');
  socket.on('data', (text: string) => {
    answer.text += text;
    answer.status ??= Number(/^HTTP\/1\.1 (\d{3})/.exec(answer.text)?.[1]) || undefined;
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    answer.closed = true;
  });
  return { answer, socket };
}

async function postReview(port: number, ca: string): Promise<number> {
  const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
  await once(socket, 'secureConnect');
  socket.write(
    `POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(REVIEW)}\r\nConnection: close\r\n\r\n${REVIEW}`,
  );
  let text = '';
  socket.setEncoding('utf8').on('data', (c: string) => (text += c));
  await once(socket, 'close');
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
}

test('stalled bodies: bytes in flight are capped (503), a valid review is answered meanwhile, stalls end at the body deadline (408) (issue 12 #7)', async (t) => {
  const MiB = 1024 * 1024;
  // The deadline is long enough that the holders still hold when the valid review comes, even on a busy machine.
  const limits: Limits = { maxBodyBytes: 3 * MiB, bodyTimeoutMs: 4000, maxInflightBytes: 4 * MiB, headersTimeoutMs: 4000 };
  const { port, ca } = await startServer(t, limits);
  // 12 clients declare 1 MiB, send half and stall: large bodies may hold 3 MiB (4 MiB less 1 MiB headroom).
  const stallers = Array.from({ length: 12 }, () => stallingClient(port, ca, MiB / 2, { declared: MiB }));
  defer(t, async () => {
    for (const { socket } of stallers) socket.destroy();
  });
  await waitFor(
    () => stallers.filter(({ answer }) => answer.status === 503).length === 9,
    undefined,
    () => 'nine clients over the budget refused',
  );
  const refused = stallers.filter(({ answer }) => answer.status === 503);
  await waitFor(
    () => refused.every(({ answer }) => answer.closed),
    undefined,
    () => 'refused connections to be closed',
  );
  assert.match(refused[0]!.answer.text, /retry-after: 1/i);
  const holding = stallers.filter(({ answer }) => answer.status !== 503);
  assert.equal(holding.length, 3);
  assert.equal(await postReview(port, ca), 200, 'a valid review is answered while others stall');
  // The stalled ones are cut at the body deadline and their bytes given back.
  await waitFor(
    () => holding.every(({ answer }) => answer.status === 408 && answer.closed),
    undefined,
    () => 'the body deadline',
  );
  const again = stallingClient(port, ca, MiB / 2, { declared: MiB });
  defer(t, async () => again.socket.destroy());
  await waitFor(
    () => again.answer.status === 408,
    undefined,
    () => 'a new large body admitted once the budget is back, then cut at the deadline',
  );

  // Chunked bodies (no declared length) count as large from the first byte: the headroom stays free.
  const chunked = Array.from({ length: 12 }, () => stallingClient(port, ca, MiB));
  defer(t, async () => {
    for (const { socket } of chunked) socket.destroy();
  });
  await waitFor(
    () => chunked.some(({ answer }) => answer.status === 503),
    undefined,
    () => 'the budget to refuse chunked bodies over it',
  );
  assert.equal(await postReview(port, ca), 200, 'a valid review is answered while chunked bodies stall');
  await waitFor(
    () => chunked.every(({ answer }) => (answer.status === 503 || answer.status === 408) && answer.closed),
    undefined,
    () => 'every chunked staller to be refused or cut at the deadline',
  );
});

test('a declared Content-Length over the limit is 413 before any byte is read; headers that never end are cut', async (t) => {
  const { port, ca } = await startServer(t, { ...generous, headersTimeoutMs: 800 });
  const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
  await once(socket, 'secureConnect');
  socket.write('POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 8388608\r\n\r\n');
  let text = '';
  socket.setEncoding('utf8').on('data', (c: string) => (text += c));
  await once(socket, 'close');
  assert.match(text, /^HTTP\/1\.1 413 /);
  const slow = stallingClient(port, ca, 0, { headers: false });
  await waitFor(
    () => slow.answer.closed,
    undefined,
    () => 'the headers timeout to close the connection',
  );
});
