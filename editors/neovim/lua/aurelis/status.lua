--- The `aurelis/status` notification and the statusline component built from it.
---
--- Params: { provider, endpoint, offline, busy, last_error,
---           models = { [name] = { healthy, breaker, rate_limit_remaining } } }
local util = require('aurelis.util')

local M = {}

--- Last status per client id.
---@type table<integer, table>
M.by_client = {}

--- Editor commands in flight per client id (the client's own view of "busy").
---@type table<integer, integer>
M.pending = {}

local function present(value)
  return value ~= nil and value ~= vim.NIL
end

--- Redraw statuslines and tell user autocmds (`User AurelisStatus`) something changed.
local function changed(client_id)
  vim.schedule(function()
    vim.cmd.redrawstatus({ bang = true })
    vim.api.nvim_exec_autocmds('User', {
      pattern = 'AurelisStatus',
      modeline = false,
      data = { client_id = client_id, status = M.by_client[client_id] },
    })
  end)
end

--- Handler for the `aurelis/status` notification (registered in lsp/aurelis.lua).
---@param params table
---@param ctx lsp.HandlerContext
function M.on_status(_, params, ctx)
  if type(params) ~= 'table' then
    return
  end
  M.by_client[ctx.client_id] = params
  changed(ctx.client_id)
end

--- Count an editor command starting (+1) or ending (-1) for `client_id`.
---@param client_id integer
---@param delta integer
function M.track(client_id, delta)
  M.pending[client_id] = math.max(0, (M.pending[client_id] or 0) + delta)
  changed(client_id)
end

--- Forget a client that stopped.
---@param client_id integer
function M.forget(client_id)
  M.by_client[client_id] = nil
  M.pending[client_id] = nil
  changed(client_id)
end

--- The last status of the Aurelis client of `bufnr` (nil before the first notification).
---@param bufnr? integer
---@return table? status
---@return vim.lsp.Client? client
function M.get(bufnr)
  local client = util.get_client(bufnr)
  if not client then
    return nil, nil
  end
  return M.by_client[client.id], client
end

--- Models whose status says they are unhealthy.
---@param status table
---@return string[]
function M.unhealthy_models(status)
  local names = {}
  if type(status.models) == 'table' then
    for name, model in pairs(status.models) do
      if type(model) == 'table' and model.healthy == false then
        names[#names + 1] = name
      end
    end
  end
  table.sort(names)
  return names
end

--- A short statusline string for `bufnr` ("" when no Aurelis server is attached).
---@param bufnr? integer
---@return string
function M.statusline(bufnr)
  local status, client = M.get(bufnr)
  if not client then
    return ''
  end
  if not status then
    return 'Aurelis: starting'
  end
  local source = status.offline and 'local'
    or tostring(present(status.provider) and status.provider or '?')
  local flags = {}
  if status.busy or (M.pending[client.id] or 0) > 0 then
    flags[#flags + 1] = 'busy'
  end
  if status.offline then
    flags[#flags + 1] = 'offline'
  end
  local down = #M.unhealthy_models(status)
  if down > 0 then
    flags[#flags + 1] = ('%d down'):format(down)
  end
  if present(status.last_error) and status.last_error ~= '' then
    flags[#flags + 1] = 'error'
  end
  if #flags == 0 then
    return 'Aurelis: ' .. source
  end
  return ('Aurelis: %s (%s)'):format(source, table.concat(flags, ', '))
end

--- The status as markdown, for :AurelisStatus.
---@param bufnr? integer
---@return string
function M.describe(bufnr)
  local status, client = M.get(bufnr)
  if not client then
    return '# Aurelis\n\nThe Aurelis language server is not attached to this buffer.'
  end
  local lines = { '# Aurelis', '' }
  if not status then
    lines[#lines + 1] = ('Server `%s` (client %d) has not reported its status yet.')
      :format(table.concat(client.config.cmd or {}, ' '), client.id)
    return table.concat(lines, '\n')
  end
  lines[#lines + 1] = ('- Provider: `%s`'):format(tostring(status.provider))
  lines[#lines + 1] = ('- Endpoint: %s'):format(
    present(status.endpoint) and ('`' .. tostring(status.endpoint) .. '`') or 'none (local model)')
  lines[#lines + 1] = ('- Offline: %s'):format(status.offline and 'yes' or 'no')
  lines[#lines + 1] = ('- Busy: %s'):format(status.busy and 'yes' or 'no')
  if type(status.models) == 'table' and next(status.models) then
    lines[#lines + 1] = ''
    lines[#lines + 1] = '| model | healthy | breaker | requests left |'
    lines[#lines + 1] = '|---|---|---|---|'
    local names = vim.tbl_keys(status.models)
    table.sort(names)
    for _, name in ipairs(names) do
      local m = status.models[name]
      lines[#lines + 1] = ('| %s | %s | %s | %s |'):format(
        name,
        m.healthy == false and 'no' or 'yes',
        present(m.breaker) and tostring(m.breaker) or '-',
        present(m.rate_limit_remaining) and tostring(m.rate_limit_remaining) or '-'
      )
    end
  end
  if present(status.last_error) and status.last_error ~= '' then
    lines[#lines + 1] = ''
    lines[#lines + 1] = '**Last error:** ' .. tostring(status.last_error)
  end
  return table.concat(lines, '\n')
end

return M
