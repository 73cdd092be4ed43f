// The webhook's TLS: Mozilla's "intermediate" profile as Node can serve it. TLS 1.3,
// and TLS 1.2 only with ECDHE key exchange and AEAD ciphers (GCM, ChaCha20-Poly1305):
// no RSA key exchange (no forward secrecy), no CBC, nothing below TLS 1.2. The Kubernetes
// API server speaks TLS 1.3 and these TLS 1.2 suites, so nothing it needs is lost.

import type { SecureContextOptions } from 'node:tls';

const TLS13 = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];
const TLS12 = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
];

/** Spread into createServer and every setSecureContext, so a certificate reload keeps the policy. */
export const TLS_POLICY = Object.freeze({
  minVersion: 'TLSv1.2',
  ciphers: [...TLS13, ...TLS12].join(':'),
  // Mozilla intermediate: every suite offered is strong, so the client's preference (its hardware) wins.
  honorCipherOrder: false,
} satisfies SecureContextOptions);
