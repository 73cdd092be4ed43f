// Self-managed TLS: a CA and a serving certificate for the webhook Service, made with
// @peculiar/x509 on Node's WebCrypto (ECDSA P-256). Also: splitting and reading a
// PEM bundle, to keep still-valid previous CAs in the caBundle during rollover; checking
// the material replicas share through a Secret; the certificate-expiry gauge.

// @peculiar/x509 2.x resolves its providers through tsyringe, which needs this polyfill (its README).
import 'reflect-metadata';
import { createPrivateKey, webcrypto, randomBytes, X509Certificate } from 'node:crypto';
import type { Registry } from 'prom-client';
import { Gauge } from '../src/lean/prom-client.ts';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type KeyPair = webcrypto.CryptoKeyPair;

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

export type TlsMaterial = { readonly caPem: string; readonly certPem: string; readonly keyPem: string; readonly notAfter: Date };

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0]! &= 0x7f; // positive
  return bytes.toString('hex');
}

async function keyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n')}\n-----END PRIVATE KEY-----\n`;
}

/** DNS names a Service is reached by from the API server. */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
}

export async function generateTlsMaterial(options: {
  commonName: string;
  dnsNames: readonly string[];
  ipAddresses?: readonly string[];
  validityDays: number;
}): Promise<TlsMaterial> {
  const notBefore = new Date(Date.now() - 5 * 60_000); // tolerate small clock skew
  const notAfter = new Date(Date.now() + options.validityDays * DAY_MS);
  const caKeys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as KeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${options.commonName} CA ${new Date().toISOString().slice(0, 10)}`,
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const leafKeys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as KeyPair;
  const names = [
    ...options.dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...(options.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${options.commonName}`,
    issuer: ca.subject,
    notBefore,
    notAfter,
    signingKey: caKeys.privateKey,
    publicKey: leafKeys.publicKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension(names, false),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  return { caPem: `${ca.toString('pem')}\n`, certPem: `${leaf.toString('pem')}\n`, keyPem: await keyPem(leafKeys.privateKey), notAfter };
}

export function splitPemBundle(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/** A certificate, or undefined for a block that does not parse (the bundle is read from the cluster). */
function parseCertificate(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

/**
 * `current` first, then the other still-valid CAs of `existing`, each once. No count cap:
 * a cap is what dropped live CAs when several replicas each published their own. With
 * one shared CA the bundle only grows when the CA is renewed, and expired CAs leave it.
 */
export function mergeCaBundle(current: string, existing: string, now = Date.now()): string {
  const seen = new Set<string>();
  const result: string[] = [];
  for (const pem of [...splitPemBundle(current), ...splitPemBundle(existing)]) {
    const certificate = parseCertificate(pem);
    if (!certificate || seen.has(certificate.fingerprint256) || Date.parse(certificate.validTo) <= now) continue;
    seen.add(certificate.fingerprint256);
    result.push(pem);
  }
  return `${result.join('\n')}\n`;
}

/** What a replica found in the shared Secret: material to serve, or why it must be renewed. */
export type SharedMaterialCheck = { readonly ok: true; readonly material: TlsMaterial } | { readonly ok: false; readonly reason: string };

/**
 * Checks the shared Secret's data (`tls.crt`, `tls.key`, `ca.crt` as PEM text): the
 * certificate must parse, match its key, chain to the first CA, name every `dnsNames`
 * entry and have more than a third of its life left (renewal starts then, so replicas
 * pick up the new one long before the old one expires).
 */
export function checkSharedMaterial(
  data: Readonly<Record<string, string>>,
  dnsNames: readonly string[],
  now = Date.now(),
): SharedMaterialCheck {
  const certPem = data['tls.crt'] ?? '';
  const keyPem = data['tls.key'] ?? '';
  const bundle = data['ca.crt'] ?? '';
  if (!certPem && !keyPem && !bundle) return { ok: false, reason: 'none yet' };
  try {
    const leaf = new X509Certificate(certPem);
    const ca = new X509Certificate(splitPemBundle(bundle)[0] ?? '');
    if (!leaf.checkPrivateKey(createPrivateKey(keyPem))) return { ok: false, reason: 'tls.key does not match tls.crt' };
    if (!leaf.verify(ca.publicKey)) return { ok: false, reason: 'tls.crt is not signed by the first CA of ca.crt' };
    const missing = dnsNames.filter((name) => !leaf.checkHost(name, { subject: 'never' }));
    if (missing.length > 0) return { ok: false, reason: `the certificate does not name ${missing.join(', ')}` };
    const from = Date.parse(leaf.validFrom);
    const to = Date.parse(leaf.validTo);
    if (now >= to - (to - from) / 3) return { ok: false, reason: `the certificate expires ${leaf.validTo}: renewing` };
    return { ok: true, material: { caPem: bundle, certPem, keyPem, notAfter: new Date(to) } };
  } catch (error) {
    return { ok: false, reason: `unreadable (${(error as Error).message})` };
  }
}

/** The serving certificate's expiry as a gauge, for the chart's certificate-expiry alert. */
export function certificateExpiryGauge(registry: Registry): (certPem: string) => void {
  const gauge = new Gauge({
    name: 'llm_config_webhook_certificate_expiry_timestamp_seconds',
    help: 'Unix time at which the serving certificate in use expires.',
    registers: [registry],
  });
  return (certPem) => gauge.set(Date.parse(new X509Certificate(certPem).validTo) / 1000);
}
