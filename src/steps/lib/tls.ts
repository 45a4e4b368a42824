/**
 * TLS material for the webhook: checks for given certificates and generation of a private CA, a
 * server certificate whose SAN covers the webhook host (plus localhost and 127.0.0.1, for probes from
 * this machine) and a client certificate. Keys are RSA-2048 from node:crypto (fast, native);
 * certificates are built with node-forge (node:crypto cannot issue certificates). Checks use
 * node:crypto's X509Certificate. Nothing here logs or returns key material except the generator's
 * PEM output, which callers write straight to 0600 files.
 */
import { X509Certificate, createPrivateKey, generateKeyPair, randomBytes, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { promisify } from 'node:util';
import forge from 'node-forge';

const generateKeyPairAsync = promisify(generateKeyPair);

export interface PemPair {
  certPem: string;
  keyPem: string;
}

export interface GeneratedTls {
  ca: PemPair;
  server: PemPair;
  client: PemPair;
}

const DAY = 86_400_000;

async function rsaKey(): Promise<{ publicPem: string; privatePem: string }> {
  const { publicKey, privateKey } = await generateKeyPairAsync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { publicPem: publicKey as unknown as string, privatePem: privateKey as unknown as string };
}

/** A positive serial number (the high bit clear, as RFC 5280 wants). */
const serial = (): string => `01${randomBytes(15).toString('hex')}`;

interface IssueOptions {
  commonName: string;
  publicPem: string;
  /** Signer (the CA's key and subject); self-signed when absent. */
  issuer?: { keyPem: string; cert: forge.pki.Certificate };
  signerKeyPem: string;
  days: number;
  now: number;
  extensions: object[];
}

function issue(o: IssueOptions): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(o.publicPem);
  cert.serialNumber = serial();
  // Backdate a little: the CockroachDB node's clock may be slightly behind this machine's.
  cert.validity.notBefore = new Date(o.now - 5 * 60_000);
  cert.validity.notAfter = new Date(o.now + o.days * DAY);
  const subject = [{ name: 'commonName', value: o.commonName }, { name: 'organizationName', value: 'molt-failback' }];
  cert.setSubject(subject);
  cert.setIssuer(o.issuer ? o.issuer.cert.subject.attributes : subject);
  cert.setExtensions(o.extensions);
  cert.sign(forge.pki.privateKeyFromPem(o.signerKeyPem) as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return cert;
}

/** The SANs the server certificate gets: the webhook host, localhost and 127.0.0.1 (deduplicated). */
export function serverSans(host: string): string[] {
  return [...new Set([host, 'localhost', '127.0.0.1'].map((h) => h.replace(/^\[|\]$/g, '')))];
}

const altNames = (names: readonly string[]) => names.map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n }));

/** Generates a CA, a server certificate for `host` and a client certificate. Takes ~0.3-1 s. */
export async function generateTls(host: string, options: { now?: number; caDays?: number; leafDays?: number } = {}): Promise<GeneratedTls> {
  const now = options.now ?? Date.now();
  const [caKey, serverKey, clientKey] = await Promise.all([rsaKey(), rsaKey(), rsaKey()]);
  const caCert = issue({
    commonName: 'molt-failback webhook CA',
    publicPem: caKey.publicPem,
    signerKeyPem: caKey.privatePem,
    days: options.caDays ?? 3650,
    now,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      { name: 'subjectKeyIdentifier' },
    ],
  });
  const leaf = (commonName: string, publicPem: string, ext: object[]) =>
    issue({
      commonName,
      publicPem,
      issuer: { keyPem: caKey.privatePem, cert: caCert },
      signerKeyPem: caKey.privatePem,
      days: options.leafDays ?? 365,
      now,
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        ...ext,
      ],
    });
  const serverCert = leaf(host, serverKey.publicPem, [
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: altNames(serverSans(host)) },
  ]);
  const clientCert = leaf('molt-failback changefeed client', clientKey.publicPem, [{ name: 'extKeyUsage', clientAuth: true }]);
  const pem = (c: forge.pki.Certificate) => forge.pki.certificateToPem(c).replace(/\r\n/g, '\n');
  return {
    ca: { certPem: pem(caCert), keyPem: caKey.privatePem },
    server: { certPem: pem(serverCert), keyPem: serverKey.privatePem },
    client: { certPem: pem(clientCert), keyPem: clientKey.privatePem },
  };
}

// ----------------------------------------------------------------------------------------------
// Checks

export interface CertFacts {
  subject: string;
  sans: string[];
  notBefore: Date;
  notAfter: Date;
  /** SHA-256 fingerprint as colon-separated hex (what `openssl x509 -fingerprint -sha256` prints). */
  fingerprint: string;
  selfSigned: boolean;
  isCa: boolean;
}

export function parseCert(pem: string): X509Certificate {
  return new X509Certificate(pem);
}

export function certFacts(cert: X509Certificate): CertFacts {
  return {
    subject: cert.subject.replace(/\n/g, ', '),
    sans: (cert.subjectAltName ?? '')
      .split(/,\s*/)
      .filter(Boolean)
      .map((s) => s.replace(/^(DNS|IP Address):/, '')),
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    fingerprint: cert.fingerprint256,
    selfSigned: cert.subject === cert.issuer && cert.verify(cert.publicKey),
    isCa: cert.ca,
  };
}

/** Loads a PEM private key; a useful message for an encrypted or malformed key. */
export function loadKey(pem: string, what: string): KeyObject {
  if (/ENCRYPTED/.test(pem)) throw new Error(`${what} is encrypted; the webhook needs an unencrypted PEM key`);
  try {
    return createPrivateKey(pem);
  } catch (err) {
    throw new Error(`${what} is not a readable PEM private key (${(err as Error).message})`);
  }
}

/**
 * Does the certificate's SAN cover `host` (DNS name or IP, wildcards per RFC 6125)? Never the subject's
 * Common Name: Go's TLS client (CockroachDB's webhook sink) ignores it, so a CN-only certificate fails there.
 */
export function coversHost(cert: X509Certificate, host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return isIP(h) ? cert.checkIP(h) !== undefined : cert.checkHost(h, { subject: 'never' }) !== undefined;
}

export interface PairCheck {
  problems: string[];
  warnings: string[];
  facts?: CertFacts;
}

/**
 * Checks a certificate and its key: parseable, the key matches, valid now (and not within `warnDays` of
 * expiry), issued by `caPem` when one is given, and (for a server certificate) the SAN covers `host`.
 */
export function checkPair(
  what: string,
  certPem: string,
  keyPem: string | undefined,
  options: { host?: string; caPem?: string; now?: number; warnDays?: number } = {},
): PairCheck {
  const problems: string[] = [];
  const warnings: string[] = [];
  let cert: X509Certificate;
  try {
    cert = parseCert(certPem);
  } catch (err) {
    return { problems: [`${what} certificate is not a readable PEM certificate (${(err as Error).message})`], warnings };
  }
  const facts = certFacts(cert);
  if (keyPem !== undefined) {
    try {
      const key = loadKey(keyPem, `${what} key`);
      if (!cert.checkPrivateKey(key)) problems.push(`${what} key does not match the ${what} certificate`);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  const now = options.now ?? Date.now();
  if (facts.notAfter.getTime() <= now) problems.push(`${what} certificate expired on ${facts.notAfter.toISOString()}`);
  else if (facts.notAfter.getTime() - now < (options.warnDays ?? 14) * DAY) warnings.push(`${what} certificate expires on ${facts.notAfter.toISOString()}`);
  if (facts.notBefore.getTime() > now) problems.push(`${what} certificate is not valid before ${facts.notBefore.toISOString()}`);
  if (options.host !== undefined && !coversHost(cert, options.host)) {
    problems.push(
      facts.sans.length === 0
        ? `${what} certificate has no subjectAltName, so it covers no host for CockroachDB (Go ignores the Common Name in ${facts.subject}): reissue it with subjectAltName DNS:${options.host}, or let prepare-tls generate one`
        : `${what} certificate does not cover the webhook host "${options.host}" (it names ${facts.sans.join(', ')})`,
    );
  }
  if (options.caPem !== undefined) {
    try {
      const ca = parseCert(options.caPem);
      if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) problems.push(`${what} certificate was not issued by the given CA`);
      else if (new Date(ca.validTo).getTime() <= now) problems.push(`the CA certificate expired on ${new Date(ca.validTo).toISOString()}`);
    } catch (err) {
      problems.push(`the CA certificate is not a readable PEM certificate (${(err as Error).message})`);
    }
  }
  return { problems, warnings, facts };
}
