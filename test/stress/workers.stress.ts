import { workersSuite } from "./workers.js"
import { full } from "./scale.js"

workersSuite(full)
