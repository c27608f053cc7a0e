--- Small helpers shared by the plugin's modules: the client lookup, notifications and
--- LSP positions in the client's offset encoding.
local M = {}

--- The name the server is registered under (`vim.lsp.config('aurelis', ...)`).
M.client_name = 'aurelis'

-- The server may say the same thing twice (window/showMessage and the command's result
-- message); a repeat within this many ms is not shown again.
local REPEAT_QUIET_MS = 3000
local last_shown = { message = nil, at = 0 }

--- Show `message` to the user, prefixed so it is clear which plugin speaks.
---@param message string
---@param level? integer a vim.log.levels value (default INFO)
function M.notify(message, level)
  message = tostring(message)
  if not message:match('^Aurelis') then
    message = 'Aurelis: ' .. message
  end
  local now = vim.uv.now()
  if message == last_shown.message and now - last_shown.at < REPEAT_QUIET_MS then
    return
  end
  last_shown.message, last_shown.at = message, now
  -- vim.notify may be replaced by a UI plugin that must run on the main loop.
  if vim.in_fast_event() then
    vim.schedule(function()
      vim.notify(message, level or vim.log.levels.INFO, { title = 'Aurelis' })
    end)
  else
    vim.notify(message, level or vim.log.levels.INFO, { title = 'Aurelis' })
  end
end

--- `bufnr`, with nil and 0 meaning the current buffer.
---@param bufnr? integer
---@return integer
function M.bufnr(bufnr)
  if bufnr == nil or bufnr == 0 then
    return vim.api.nvim_get_current_buf()
  end
  return bufnr
end

--- The Aurelis client attached to `bufnr`, if any.
---@param bufnr? integer
---@return vim.lsp.Client?
function M.get_client(bufnr)
  bufnr = M.bufnr(bufnr)
  return vim.lsp.get_clients({ bufnr = bufnr, name = M.client_name })[1]
end

--- The message of an LSP error response, or of a Lua error value.
---@param err any
---@return string
function M.error_message(err)
  local message = type(err) == 'table' and (err.message or vim.inspect(err)) or tostring(err)
  -- Server messages may carry their own "Aurelis:" prefix; notify() adds one already.
  message = message:gsub('^Aurelis:%s*', ''):gsub('%s+$', '')
  return message
end

--- 0-based LSP character of byte column `col` (0-based) on `line`, in `encoding`.
---@param line string
---@param col integer
---@param encoding string
---@return integer
function M.character(line, col, encoding)
  col = math.max(0, math.min(col, #line))
  return vim.str_utfindex(line, encoding, col, false)
end

--- 0-based byte column of LSP `character` on `line`, in `encoding`.
---@param line string
---@param character integer
---@param encoding string
---@return integer
function M.byte_col(line, character, encoding)
  local length = vim.str_utfindex(line, encoding, nil, false)
  if character >= length then
    return #line
  end
  return vim.str_byteindex(line, encoding, math.max(0, character), false)
end

--- One line of `bufnr` (0-based row), or "" past the end.
---@param bufnr integer
---@param row integer
---@return string
function M.line(bufnr, row)
  return vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
end

return M
