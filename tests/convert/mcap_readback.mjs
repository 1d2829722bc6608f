// Reads an MCAP file with npm @mcap/core (McapIndexedReader; zstd chunks through the system's zstd
// CLI, since @mcap/core ships no decompressor) and prints, per topic: schema name, message count,
// log times and a SHA-256 over every message's bytes in log-time order, as JSON.
// Usage: node mcap_readback.mjs FILE.mcap
import { McapIndexedReader } from '@mcap/core';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

const fh = await open(process.argv[2], 'r');
const size = (await fh.stat()).size;
const readable = {
  size: async () => BigInt(size),
  read: async (offset, length) => {
    const buf = new Uint8Array(Number(length));
    await fh.read(buf, 0, Number(length), Number(offset));
    return buf;
  },
};
const decompressHandlers = {
  zstd: (data) => new Uint8Array(execFileSync('zstd', ['-d', '-c', '-q'], { input: data })),
};
const reader = await McapIndexedReader.Initialize({ readable, decompressHandlers });
const out = { profile: reader.header.profile, metadata: {}, topics: {} };
for await (const m of reader.readMetadata()) out.metadata[m.name] = Object.fromEntries(m.metadata);
const hashes = {};
for await (const msg of reader.readMessages()) {
  const ch = reader.channelsById.get(msg.channelId);
  const t = (out.topics[ch.topic] ??= {
    schema: reader.schemasById.get(ch.schemaId)?.name ?? '', encoding: ch.messageEncoding, n: 0, log: [],
  });
  t.n += 1;
  t.log.push(msg.logTime.toString());
  (hashes[ch.topic] ??= createHash('sha256')).update(msg.data);
}
for (const [topic, h] of Object.entries(hashes)) out.topics[topic].sha256 = h.digest('hex');
await fh.close();
console.log(JSON.stringify(out));
