import { faultsSuite } from "./faults.js"
import { full } from "./scale.js"

faultsSuite(full)
