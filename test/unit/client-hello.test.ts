import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClientHelloReader, readClientHello } from '../../main/core/gateway/client-hello.js';
import { clientHelloMessage, inRecords } from '../helpers/tls-hello.js';

const KINDS = ['incomplete', 'hello', 'not-tls', 'malformed'];

describe('the ClientHello reader', () => {
  it('reads the server name and ECH of a hello however it is split into records and writes', () => {
    fc.assert(fc.property(fc.stringMatching(/^[a-z0-9]{1,20}(\.[a-z0-9]{1,20}){0,3}$/), fc.boolean(), fc.integer({ min: 1, max: 400 }), fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 30 }), (name, ech, recordSize, cuts) => {
      const bytes = inRecords(clientHelloMessage({ serverName: name, ...(ech ? { extensions: [[0xfe0d, Buffer.from([1])]] } : {}) }), recordSize);
      const reader = new ClientHelloReader();
      let offset = 0;
      reader.push(Buffer.alloc(0));
      for (const cut of cuts) {
        reader.push(bytes.subarray(offset, offset + cut));
        offset += cut;
      }
      expect(reader.push(bytes.subarray(offset))).toEqual({ kind: 'hello', serverName: name, encryptedClientHello: ech });
    }));
  });

  it('never throws on hostile bytes, and stays bounded', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2_000 }), fc.boolean(), (random, asRecord) => {
      const bytes = asRecord ? Buffer.concat([Buffer.from([0x16, 3, 1, random.length >> 8, random.length & 0xff]), random]) : Buffer.from(random);
      expect(KINDS).toContain(readClientHello(bytes, 1_024).kind);
    }), { numRuns: 2_000 });
    const mutated = inRecords(clientHelloMessage({ serverName: 'a.test' }));
    fc.assert(fc.property(fc.integer({ min: 0, max: mutated.length - 1 }), fc.integer({ min: 0, max: 255 }), (at, value) => {
      const copy = Buffer.from(mutated);
      copy[at] = value;
      expect(KINDS).toContain(readClientHello(copy).kind);
    }), { numRuns: 2_000 });
  });

  it('refuses duplicate extensions, two names, non-ASCII names and over-long hellos', () => {
    const twoSni = clientHelloMessage({ serverName: 'a.test', extensions: [[0, Buffer.from([0, 4, 0, 0, 1, 0x62])]] });
    expect(readClientHello(inRecords(twoSni))).toMatchObject({ kind: 'malformed', reason: expect.stringMatching(/twice/) });
    expect(readClientHello(inRecords(clientHelloMessage({ serverName: Buffer.from('a\u00e9.test', 'latin1') })))).toMatchObject({ kind: 'malformed' });
    expect(readClientHello(inRecords(clientHelloMessage({ serverName: 'a.test', extensions: [[21, Buffer.alloc(3_000)]] })), 1_024)).toMatchObject({ kind: 'malformed' });
    expect(readClientHello(Buffer.from('GET / HTTP/1.1\r\n'))).toEqual({ kind: 'not-tls' });
    expect(readClientHello(inRecords(clientHelloMessage()))).toEqual({ kind: 'hello', serverName: undefined, encryptedClientHello: false });
  });
});
