import { fuzzSuite } from "./fuzz.js"
import { full } from "./scale.js"

fuzzSuite(full)
