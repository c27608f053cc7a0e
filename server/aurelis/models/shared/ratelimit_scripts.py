"""The server-side scripts of the shared rate limiter (see `shared.ratelimit`).

Each runs atomically inside Redis and reads the time from Redis (`TIME`), so no two
processes can both take the last slot of a window, and no process's clock matters.
Times are milliseconds; a limit of -1 means "no limit".
"""

from __future__ import annotations

from aurelis.models.shared.connection import LuaScript

__all__ = ["ACQUIRE", "RELEASE", "REFUND", "RENEW", "BLOCK", "ALIGN", "REMAINING"]

ACQUIRE = LuaScript(
    "aurelis_rl_acquire",
    """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local member = ARGV[1]
local concurrent = tonumber(ARGV[6])
-- A retry after a timeout whose first try got in: admitted already, count it once.
for i = 1, 3 do
  if redis.call('ZSCORE', KEYS[i], member) then
    return {1, now, ''}
  end
end
if concurrent >= 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  if redis.call('ZCARD', KEYS[3]) >= concurrent then
    return {-1, 0, 'concurrent'}
  end
end
local blocked = tonumber(redis.call('GET', KEYS[4]) or '0')
if blocked > now then
  return {0, blocked - now, 'blocked'}
end
local windows = {
  {KEYS[2], tonumber(ARGV[4]), tonumber(ARGV[5]), 'day'},
  {KEYS[1], tonumber(ARGV[2]), tonumber(ARGV[3]), 'minute'},
}
local wait, why = 0, ''
for _, w in ipairs(windows) do
  local key, limit, period = w[1], w[2], w[3]
  if limit >= 0 then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - period)
    local count = redis.call('ZCARD', key)
    if count >= limit then
      local ms = period
      if limit > 0 then
        local nth = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
        ms = tonumber(nth[2]) + period - now
      end
      if ms > wait then
        wait, why = ms, w[4]
      end
    end
  end
end
if wait > 0 then
  return {0, math.ceil(wait), why}
end
for _, w in ipairs(windows) do
  if w[2] >= 0 then
    redis.call('ZADD', w[1], now, member)
    redis.call('PEXPIRE', w[1], w[3])
  end
end
if concurrent >= 0 then
  redis.call('ZADD', KEYS[3], now + tonumber(ARGV[7]), member)
  redis.call('PEXPIRE', KEYS[3], 2 * tonumber(ARGV[7]))
end
return {1, now, ''}
""",
)

RELEASE = LuaScript(
    "aurelis_rl_release",
    """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local member = ARGV[1]
for i = 1, 2 do
  local period = tonumber(ARGV[i + 1])
  if period >= 0 then
    redis.call('ZADD', KEYS[i], now, member)
    redis.call('PEXPIRE', KEYS[i], period)
  end
end
redis.call('ZREM', KEYS[3], member)
return now
""",
)

# The request never reached the endpoint (cancelled or failed before it was sent): its
# hits and its lease go, as if it had never been admitted.
REFUND = LuaScript(
    "aurelis_rl_refund",
    """
local member = ARGV[1]
local removed = 0
for i = 1, 3 do
  removed = removed + redis.call('ZREM', KEYS[i], member)
end
return removed
""",
)

RENEW = LuaScript(
    "aurelis_rl_renew",
    """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[2])
if redis.call('ZADD', KEYS[1], 'XX', 'CH', now + lease, ARGV[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], 2 * lease)
  return 1
end
return 0
""",
)

BLOCK = LuaScript(
    "aurelis_rl_block",
    """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ms = tonumber(ARGV[1])
local until_ms = now + ms
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < until_ms then
  redis.call('SET', KEYS[1], until_ms, 'PX', ms + 1000)
end
return until_ms
""",
)

# The server counts requests we did not see (another client with the same token, or a
# process that lost Redis for a while): stand-ins that age out when the server's hits do.
ALIGN = LuaScript(
    "aurelis_rl_align",
    """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit, period = tonumber(ARGV[1]), tonumber(ARGV[2])
local remaining, reset = tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - period)
local extra = math.max(0, limit - redis.call('ZCARD', KEYS[1])) - remaining
if extra <= 0 then
  return 0
end
local stamp = now
if reset >= 0 then
  stamp = now + reset - period
end
for i = 1, extra do
  redis.call('ZADD', KEYS[1], stamp, ARGV[5] .. ':' .. i)
end
redis.call('PEXPIRE', KEYS[1], period)
return extra
""",
)

REMAINING = LuaScript(
    "aurelis_rl_remaining",
    """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local left = -1
for i = 1, 2 do
  local limit, period = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  if limit >= 0 then
    local used = redis.call('ZCOUNT', KEYS[i], '(' .. (now - period), '+inf')
    local here = math.max(0, limit - used)
    if left < 0 or here < left then
      left = here
    end
  end
end
if tonumber(redis.call('GET', KEYS[3]) or '0') > now then
  left = 0
end
return left
""",
)
