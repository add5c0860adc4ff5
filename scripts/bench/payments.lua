-- Durable payments: POST /api/v1/customers/{id}/payments of 1.00, spread
-- over the customers, each with its own Idempotency-Key, signed in with a
-- bearer token. Only 201 counts as a payment (see ok_per_s).
--
-- wrk -t2 -c32 -d10s -s payments.lua http://127.0.0.1:PORT -- TOKEN_FILE IDS_FILE RUN_ID

package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")

setup = common.setup
done = common.done

local ids, run, headers
local n = 0
local body = '{"amount":"1.00","method":"cash"}'

function init(args)
   local token
   token, ids, run = common.init(args)
   headers = {
      ["Content-Type"] = "application/json",
      ["Authorization"] = "Bearer " .. token,
   }
end

function request()
   n = n + 1
   -- A stride that is prime to the usual counts walks all customers.
   local id = ids[((n * 7919 + thread_no * 104729) % #ids) + 1]
   headers["Idempotency-Key"] = run .. "-" .. thread_no .. "-" .. n
   return wrk.format("POST", "/api/v1/customers/" .. id .. "/payments", headers, body)
end
