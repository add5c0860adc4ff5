-- The hello-world ceiling: GET / , with the same key=value report.

package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")

done = common.done
