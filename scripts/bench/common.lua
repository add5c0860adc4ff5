-- Shared by the wrk scripts of scripts/bench.sh: reads the bearer token and
-- the customer ids that examples/bench_setup.rs wrote, gives every wrk
-- thread its own number, and prints wrk's figures as key=value lines.
--
-- Arguments after `--`: TOKEN_FILE IDS_FILE [RUN_ID]

local M = {}
local next_thread = 1

function M.setup(thread)
   thread:set("thread_no", next_thread)
   next_thread = next_thread + 1
end

function M.init(args)
   local f = assert(io.open(args[1]), "token file")
   local token = f:read("*l")
   f:close()
   local ids = {}
   for line in io.lines(args[2]) do
      if line ~= "" then
         ids[#ids + 1] = line
      end
   end
   assert(#ids > 0, "no customer ids")
   return token, ids, args[3] or tostring(os.time())
end

function M.done(summary, latency, requests)
   local non2xx = summary.errors.status
   io.write(string.format(
      "requests=%d\nduration_us=%d\nnon2xx=%d\nsocket_errors=%d\nok_per_s=%.0f\np50_ms=%.2f\np99_ms=%.2f\n",
      summary.requests, summary.duration, non2xx,
      summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
      (summary.requests - non2xx) / (summary.duration / 1e6),
      latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end

return M
