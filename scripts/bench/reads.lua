-- Authenticated balance reads: GET /api/v1/customers/{id} with a bearer
-- token, spread over the customers.
--
-- wrk -t2 -c32 -d10s -s reads.lua http://127.0.0.1:PORT -- TOKEN_FILE IDS_FILE

package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")

setup = common.setup
done = common.done

local ids, headers
local n = 0

function init(args)
   local token
   token, ids = common.init(args)
   headers = { ["Authorization"] = "Bearer " .. token }
end

function request()
   n = n + 1
   local id = ids[((n * 7919 + thread_no * 104729) % #ids) + 1]
   return wrk.format("GET", "/api/v1/customers/" .. id, headers)
end
