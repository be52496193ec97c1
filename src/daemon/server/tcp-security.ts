/**
 * Who may reach a TCP listener. A TCP socket that serves the Engine API is root on this machine for whoever can
 * connect, so — as dockerd — berthd says so loudly for plain TCP, refuses plain TCP on a non-loopback address unless
 * the user explicitly opted out (`--tls=false`), and serves TLS (optionally mutual TLS) from the configured files.
 *
 * Terms: *server TLS* encrypts and proves the daemon's identity; *mutual TLS* (`--tlsverify`) also requires every
 * client to present a certificate signed by the configured CA, which is the only mode that authenticates clients.
 */
import dns from 'node:dns';
import fs from 'node:fs';
import net from 'node:net';
import type tls from 'node:tls';
import { invalidArgument } from '../../errdefs/index.js';
import type { TlsConfig } from '../config.js';

/** True for `localhost`, 127.0.0.0/8, ::1 and ::ffff:127.x — after resolving a host name. */
export async function isLoopbackHost(host: string): Promise<boolean> {
  if (host === 'localhost') return true;
  const addrs = net.isIP(host) ? [host] : await dns.promises.lookup(host, { all: true }).then((r) => r.map((a) => a.address), () => []);
  return addrs.length > 0 && addrs.every(isLoopbackIp);
}

export function isLoopbackIp(ip: string): boolean {
  if (net.isIPv4(ip)) return ip.startsWith('127.');
  const lower = ip.toLowerCase();
  return lower === '::1' || lower.startsWith('::ffff:127.');
}

export interface TcpListenerVerdict {
  /** Warnings to log (loudly) before listening; empty for mutual TLS. */
  warnings: string[];
}

/**
 * Decides whether a TCP listener on `host:port` may start with this TLS configuration. Throws an InvalidArgument
 * error (the daemon refuses to start) for plain TCP on a non-loopback address without the explicit opt-out.
 */
export async function checkTcpListener(host: string, port: number, tlsConfig: TlsConfig): Promise<TcpListenerVerdict> {
  const where = `tcp://${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
  if (tlsConfig.enabled && tlsConfig.verify) return { warnings: [] };
  const loopback = await isLoopbackHost(host);
  if (tlsConfig.enabled)
    return {
      warnings: [
        `${where}: TLS without --tlsverify: connections are encrypted but clients are not authenticated; anyone who can reach ${where} has root access on this machine`,
      ],
    };
  const warnings = [
    `Binding to IP address without --tlsverify is insecure and gives root access on this machine to everyone who has access to your network. host="${where}"`,
    `Binding to an IP address, even on localhost, can also give access to scripts run in a browser. Be safe out there! host="${where}"`,
  ];
  if (!loopback && !tlsConfig.explicitlyOff)
    throw invalidArgument(
      `refusing to listen on ${where} without TLS: it is not a loopback address, and an unauthenticated Engine API there gives root access on this machine to everyone on the network; use --tlsverify with --tlscacert, --tlscert and --tlskey, or pass --tls=false to accept the risk`,
    );
  return { warnings };
}

/** Node TLS server options from the daemon's TLS configuration (files read now, so a bad path fails at start). */
export function serverTlsOptions(tlsConfig: TlsConfig): tls.TlsOptions {
  const read = (file: string, what: string) => {
    try {
      return fs.readFileSync(file);
    } catch (e) {
      throw invalidArgument(`invalid TLS configuration: could not read ${what} ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
    }
  };
  const options: tls.TlsOptions = {
    cert: read(tlsConfig.certFile, 'certificate'),
    key: read(tlsConfig.keyFile, 'key'),
    minVersion: 'TLSv1.2',
  };
  if (tlsConfig.verify) {
    options.ca = read(tlsConfig.caFile, 'CA certificate');
    options.requestCert = true;
    options.rejectUnauthorized = true;
  }
  return options;
}
