// Publish check, run by pack-check.sh from a fresh project that installed the npm pack tarball. The same source runs
// as ESM (type: module, `import`) and as CommonJS (`require`), chosen by the project's package.json.
const { createRequire } = require("node:module");
module.exports = async function smoke(lib, resolved, format) {
  const expected = `/dist/${format}/index.js`;
  if (!resolved.endsWith(expected)) throw new Error(`${format} resolved to ${resolved}, not ${expected}`);
  const { Fake, fakePng } = createRequire(__filename)(process.env.INCTRL_FAKE);
  const fake = new Fake();
  const addr = await fake.start();
  const c = lib.connect(addr, { apiKey: "secret", timeoutMs: 10000 });
  try {
    const r = await c.score(fakePng("q"), { shots: [fakePng("s1"), fakePng("s2")], category: "x" });
    if (!(r.score >= 0 && r.score <= 1 && r.bundleId === "fake")) throw new Error(`bad answer ${JSON.stringify(r)}`);
    const err = await c.score(Buffer.from("junk"), { shots: [fakePng("s1")] }).then(() => null, (e) => e);
    if (!(err instanceof lib.InvalidArgumentError)) throw new Error(`expected InvalidArgumentError, got ${err}`);
    console.log(`${format}: @inctrl/client from ${resolved} scored ${r.score.toFixed(3)}`);
  } finally {
    c.close();
    fake.stop();
  }
};
