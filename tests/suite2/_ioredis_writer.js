// Writes unique keys through ioredis's Sentinel support, with its default
// settings, for a given time; prints one JSON line: the keys acknowledged
// (with when, in ms since start) and the errors seen.
//   node _ioredis_writer.js PORT,PORT,PORT SECONDS
const Redis = require("ioredis");

const ports = process.argv[2].split(",").map(Number);
const seconds = Number(process.argv[3]);
const redis = new Redis({
  sentinels: ports.map((port) => ({ host: "127.0.0.1", port })),
  name: "mymaster",
});
redis.on("error", () => {}); // reconnects are expected; failed writes are counted below

async function main() {
  const start = Date.now();
  const acked = [];
  const errors = {};
  let i = 0;
  while (Date.now() - start < seconds * 1000) {
    const key = `io:${i++}`;
    try {
      await redis.set(key, String(i));
      acked.push([key, String(i), Date.now() - start]);
    } catch (e) {
      const kind = String(e.message).split(" ")[0];
      errors[kind] = (errors[kind] || 0) + 1;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  process.stdout.write(JSON.stringify({ acked, errors }) + "\n");
  redis.disconnect();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
