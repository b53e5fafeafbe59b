import { emfileSuite } from "./emfile.js"
import { full } from "./scale.js"

emfileSuite(full)
