-- wrk script of bench/warm.mjs: every request carries its own X-Name, and every answer's body is
-- checked, so no answer can be cached, skipped or served for another request.
--   wrk ... -s checked.lua URL -- name   [PREFIX COUNT]   body must be "Hello, <its X-Name>!"
--   wrk ... -s checked.lua URL -- FILE   [PREFIX COUNT]   body must equal FILE's content
--   wrk ... -s checked.lua URL -- echo   [PREFIX COUNT]   a POST of "Hello, <its X-Name>!", which the body must be
-- With PREFIX and COUNT the path rotates over PREFIX0 ... PREFIX<COUNT-1>, one per request.
-- A "name" answer must name a request still waiting for its answer, which it then settles: a
-- cached, repeated or invented answer does not. Any status but 200 is a mismatch too. done()
-- prints "body-check: checked N mismatched M" (summed over wrk's threads) for the runner to read.

local threads = {}
local id = 0

function setup(thread)
  id = id + 1
  thread:set("thread_id", id)
  table.insert(threads, thread)
end

function init(args)
  checked, mismatched, first_bad, counter = 0, 0, nil, 0
  waiting = {}
  host = wrk.headers["Host"]
  path = wrk.path
  echo = args[1] == "echo"
  by_name = args[1] == "name" or echo
  if not by_name then
    local f = assert(io.open(args[1], "rb"))
    expected = f:read("*a")
    f:close()
  end
  prefix, count = args[2], tonumber(args[3])
  tag = "n" .. (thread_id or 0) .. "-"
end

function request()
  counter = counter + 1
  local name = tag .. counter
  if by_name then waiting[name] = true end
  local p = path
  if count then p = prefix .. (counter % count) end
  if echo then
    local body = "Hello, " .. name .. "!"
    return "POST " .. p .. " HTTP/1.1\r\nHost: " .. host .. "\r\nX-Name: " .. name .. "\r\nContent-Length: " .. #body .. "\r\n\r\n" .. body
  end
  return "GET " .. p .. " HTTP/1.1\r\nHost: " .. host .. "\r\nX-Name: " .. name .. "\r\n\r\n"
end

function response(status, headers, body)
  checked = checked + 1
  body = body or ""
  local ok = status == 200
  if ok and by_name then
    local name = body:match("^Hello, (n[%d-]+)!$")
    ok = name ~= nil and waiting[name] ~= nil
    if ok then waiting[name] = nil end
  elseif ok then
    ok = body == expected
  end
  if not ok then
    mismatched = mismatched + 1
    if not first_bad then first_bad = status .. " " .. body:sub(1, 100):gsub("%c", "?") end
  end
end

function done(summary, latency, requests)
  local c, m, bad = 0, 0, nil
  for _, t in ipairs(threads) do
    c = c + (t:get("checked") or 0)
    m = m + (t:get("mismatched") or 0)
    bad = bad or t:get("first_bad")
  end
  io.write(string.format("body-check: checked %d mismatched %d\n", c, m))
  if bad then io.write("body-check first mismatch: " .. bad .. "\n") end
end
