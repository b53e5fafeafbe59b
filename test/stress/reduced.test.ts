/**
 * The stress parts (./cycles.ts, ./faults.ts, ./fuzz.ts, ./emfile.ts,
 * ./workers.ts) at reduced scale, in `npm test`; `npm run test:stress` runs
 * them in full (./*.stress.ts, ./vitest.config.ts).
 */
import { cyclesSuite } from "./cycles.js"
import { emfileSuite } from "./emfile.js"
import { faultsSuite } from "./faults.js"
import { fuzzSuite } from "./fuzz.js"
import { reduced } from "./scale.js"
import { workersSuite } from "./workers.js"

cyclesSuite(reduced)
faultsSuite(reduced)
fuzzSuite(reduced)
emfileSuite(reduced)
workersSuite(reduced)
