import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './env.js';

/** A certificate authority made for one test file (openssl), and leaves it signs. */
export interface TestCa {
  /** The CA's certificate, PEM. */
  pem: string;
  /** Where that PEM is on disk (for NODE_EXTRA_CA_CERTS, AIRLOCK_UPSTREAM_CA). */
  file: string;
  /** A server certificate and key for these DNS names, signed by this CA. */
  leaf(names: string[]): { cert: string; key: string };
}

export function makeTestCa(name: string): TestCa {
  const dir = tempDir('airlock-ca-');
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-keyout', 'ca.key', '-out', 'ca.pem']);
  let serial = 0;
  return {
    pem: fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8'),
    file: path.join(dir, 'ca.pem'),
    leaf(names) {
      serial += 1;
      fs.writeFileSync(path.join(dir, `leaf${serial}.ext`), `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
      run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${names[0]}`, '-keyout', `leaf${serial}.key`, '-out', `leaf${serial}.csr`]);
      run(['x509', '-req', '-in', `leaf${serial}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', `leaf${serial}.ext`, '-out', `leaf${serial}.pem`]);
      return { cert: fs.readFileSync(path.join(dir, `leaf${serial}.pem`), 'utf8'), key: fs.readFileSync(path.join(dir, `leaf${serial}.key`), 'utf8') };
    },
  };
}
