-- wrk script for bench/serve_load.sh: POST /v1/recommend for users drawn at
-- random from a file of raw user ids (one per line).
--   wrk -s bench/serve_recommend.lua URL -- USER_IDS_FILE [K]
local ids, k = {}, 50

function init(args)
  for line in io.lines(args[1]) do ids[#ids + 1] = line end
  if args[2] then k = tonumber(args[2]) end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end

function request()
  local body = string.format('{"user": "%s", "k": %d}', ids[math.random(#ids)], k)
  return wrk.format("POST", "/v1/recommend", {["Content-Type"] = "application/json"}, body)
end
