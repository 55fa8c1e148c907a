// A host on this machine for the egress test: HTTPS on localhost with a certificate made here
// (the server under test trusts it through EGRESS_CA_FILE). /check answers whether the secret
// arrived as its owner configured it, without ever sending the value back; /oauth/revoke is a
// connection's revocation endpoint.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:https";
import path from "node:path";

// The value the egress test stores as its secret (end2end/tests/secrets.spec.ts).
const expected = "Bearer sk-e2e-7d41c2a9f0b3-RIGHT-VALUE-Q7ZK";
const port = Number(process.env.E2E_UPSTREAM_PORT ?? 3443);
const dir = path.join(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), "..", "target", "e2e-upstream");

mkdirSync(dir, { recursive: true });
writeFileSync(
  path.join(dir, "leaf.cnf"),
  [
    "[req]",
    "distinguished_name = dn",
    "x509_extensions = leaf",
    "prompt = no",
    "[dn]",
    "CN = localhost",
    "[leaf]",
    "subjectAltName = DNS:localhost",
    "basicConstraints = critical,CA:FALSE",
    "keyUsage = critical,digitalSignature",
    "extendedKeyUsage = serverAuth",
    "",
  ].join("\n"),
);
execFileSync("openssl", [
  "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
  "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem"), "-days", "2",
  "-config", path.join(dir, "leaf.cnf"),
], { stdio: "ignore" });

const key = readFileSync(path.join(dir, "key.pem"));
const cert = readFileSync(path.join(dir, "cert.pem"));

createServer({ key, cert }, (request, response) => {
  if (request.url === "/healthz") {
    response.writeHead(200, { "content-type": "text/plain" }).end("ok");
    return;
  }
  // RFC 7009: a revocation is answered 200, for a token known or not.
  if (request.url === "/oauth/revoke" && request.method === "POST") {
    response.writeHead(200).end();
    return;
  }
  const ok = request.url === "/check" && request.headers.authorization === expected;
  response
    .writeHead(200, { "content-type": "application/json", "set-cookie": "upstream=1" })
    .end(JSON.stringify({ ok, cookie: request.headers.cookie ?? null }));
}).listen(port, "127.0.0.1");
