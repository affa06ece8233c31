/* global fetch */
// The floor for `plan`: a whole Node process that does nothing but read the digests, one HEAD per
// service manifest, 8 at a time, with the same Accept list the bot sends. Usage:
//   node bench/head-floor.mjs HOST SHA COUNT
const [host, sha, count] = process.argv.slice(2);
const accept = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");
const total = Number(count);
let next = 0;
let digests = 0;
async function worker() {
  while (next < total) {
    const i = next++;
    const name = `svc-${String(i).padStart(3, "0")}`;
    const res = await fetch(`http://${host}/v2/bench/${name}/manifests/${sha}`, {
      method: "HEAD",
      headers: { accept },
    });
    if (res.headers.get("docker-content-digest")) digests++;
  }
}
await Promise.all(Array.from({ length: 8 }, worker));
if (digests !== total) {
  process.stderr.write(`head-floor: ${digests} of ${total} digests\n`);
  process.exitCode = 1;
}
