/**
 * ec_interfaces (sieve-ref-ec-interfaces.md, which Momentum's mail_loop
 * module provides): the IPv4 addresses of this machine except 127.0.0.1,
 * as a list. Its documented use: a client whose HELO names one of our own
 * addresses is spoofing us. Read at each call, as addresses come and go.
 */
import { networkInterfaces } from 'node:os';
import type { SieveFunction } from '../functions.js';

const interfaces: SieveFunction = {
  name: 'ec_interfaces',
  uses: { value: true },
  params: [],
  call: () => {
    const out: string[] = [];
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) if (a.family === 'IPv4' && a.address !== '127.0.0.1' && !out.includes(a.address)) out.push(a.address);
    }
    return out;
  },
};

export const interfaceFunctions: SieveFunction[] = [interfaces];
