// Runs in a fresh Node process, as an SCF instance would: requires a built bundle, then invokes its
// main_handler once per event from the JSON file given as argv[3], printing one JSON array of results.
const { readFileSync } = require('node:fs');
const bundle = process.argv[2];
const events = JSON.parse(readFileSync(process.argv[3], 'utf8'));
const started = process.hrtime.bigint();
const { main_handler } = require(bundle);
const loadedMs = Number(process.hrtime.bigint() - started) / 1e6;
(async () => {
  const results = [];
  for (const event of events) {
    results.push(await main_handler(event, { request_id: `req-${results.length}`, function_name: 'test' }));
  }
  process.stdout.write(`\n@@RESULTS@@${JSON.stringify({ loadedMs, results })}\n`);
  // PGlite keeps the event loop alive; an SCF instance would be frozen here.
  process.exit(0);
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
