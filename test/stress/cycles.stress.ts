import { cyclesSuite } from "./cycles.js"
import { full } from "./scale.js"

cyclesSuite(full)
