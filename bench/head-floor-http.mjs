// A stricter floor for `plan`, beside the (head-floor.mjs, through fetch): the same HEADs, 8 at
// a time on one keep-alive node:http agent of 8 sockets, as the registry client now sends them. Usage:
//   node bench/head-floor-http.mjs HOST SHA COUNT
import http from "node:http";

const [host, sha, count] = process.argv.slice(2);
const [hostname, port] = host.split(":");
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
const accept = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

function head(path) {
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, path, method: "HEAD", agent, headers: { accept } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.headers["docker-content-digest"]));
    });
    req.on("error", reject);
    req.end();
  });
}

const total = Number(count);
let next = 0;
let digests = 0;
async function worker() {
  while (next < total) {
    const name = `svc-${String(next++).padStart(3, "0")}`;
    if (await head(`/v2/bench/${name}/manifests/${sha}`)) digests++;
  }
}
await Promise.all(Array.from({ length: 8 }, worker));
agent.destroy();
if (digests !== total) {
  process.stderr.write(`head-floor-http: ${digests} of ${total} digests\n`);
  process.exitCode = 1;
}
