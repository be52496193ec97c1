/** Test certificates made with openssl: a CA, server and client certificates, and a client from a rogue CA. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** A CA, a server certificate for 127.0.0.1/localhost, a client certificate, and a client signed by another CA. */
export function makeCertificates(dir: string): void {
  const ossl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ca = (name: string) => {
    ossl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`);
  };
  const leaf = (name: string, caName: string, ext: string) => {
    fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
    ossl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    ossl('x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.pem`, '-CAkey', `${caName}-key.pem`, '-CAcreateserial', '-out', `${name}-cert.pem`, '-days', '2', '-extfile', `${name}.ext`);
  };
  ca('ca');
  ca('rogue-ca');
  leaf('server', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'ca', 'extendedKeyUsage=clientAuth\n');
  leaf('rogue', 'rogue-ca', 'extendedKeyUsage=clientAuth\n');
  // DOCKER_CERT_PATH layout for the docker CLI: ca.pem, cert.pem, key.pem.
  const cli = path.join(dir, 'cli');
  fs.mkdirSync(cli);
  fs.copyFileSync(path.join(dir, 'ca.pem'), path.join(cli, 'ca.pem'));
  fs.copyFileSync(path.join(dir, 'client-cert.pem'), path.join(cli, 'cert.pem'));
  fs.copyFileSync(path.join(dir, 'client-key.pem'), path.join(cli, 'key.pem'));
}

