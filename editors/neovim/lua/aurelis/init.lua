--- Aurelis for Neovim: an AI coding assistant served by the Aurelis language server.
---
--- ```lua
--- require('aurelis').setup({ cmd = { 'aurelis', 'serve' } })
--- vim.o.statusline = '%f %= %{v:lua.require("aurelis").statusline()}'
--- ```
--- See editors/neovim/README.md (or `:help aurelis`) for every option.
local config = require('aurelis.config')
local util = require('aurelis.util')

local M = {}

--- Whether setup() ran (explicitly, or from plugin/aurelis.lua with vim.g.aurelis).
M.did_setup = false

local function set_highlights()
  vim.api.nvim_set_hl(0, 'AurelisGhostText', { link = 'Comment', default = true })
end

--- Configure the plugin and register the language server. Safe to call again: later calls
--- replace the options (a running server keeps its command until it restarts).
---@param opts? aurelis.Options|table
function M.setup(opts)
  if vim.fn.has('nvim-0.11') ~= 1 then
    vim.notify('Aurelis needs Neovim 0.11 or later.', vim.log.levels.ERROR)
    return
  end
  local problems = config.apply(opts)
  if #problems > 0 then
    util.notify('setup: ' .. table.concat(problems, '; '), vim.log.levels.WARN)
  end
  M.did_setup = true

  set_highlights()
  local group = vim.api.nvim_create_augroup('aurelis.highlights', { clear = true })
  vim.api.nvim_create_autocmd('ColorScheme', { group = group, callback = set_highlights })

  local lsp = require('aurelis.lsp')
  lsp.create_autocmds()
  lsp.register()
end

--- A short status for statuslines, e.g. "Aurelis: azure" or "Aurelis: local (busy, offline)";
--- "" when no Aurelis server is attached to the buffer.
---@param bufnr? integer
---@return string
function M.statusline(bufnr)
  return require('aurelis.status').statusline(bufnr)
end

--- The last `aurelis/status` of the buffer's server (nil before the first one).
---@param bufnr? integer
---@return table?
function M.status(bufnr)
  return (require('aurelis.status').get(bufnr))
end

--- Run a server command on the current buffer, e.g.
--- `require('aurelis').run('aurelis.refactor', { instruction = 'use pathlib' })`.
---@param command string a server command id (aurelis.generate, aurelis.explain, ...)
---@param opts? { range?: lsp.Range, instruction?: string, on_done?: fun(err: any, result: any) }
---@return integer? request_id
function M.run(command, opts)
  local commands = require('aurelis.commands')
  local spec = commands.by_command[command]
  if not spec then
    util.notify(('unknown command `%s`'):format(tostring(command)), vim.log.levels.ERROR)
    return nil
  end
  return commands.run(spec, opts)
end

--- Accept the shown inline suggestion; false when none is shown.
---@return boolean
function M.accept()
  return require('aurelis.inline').accept()
end

--- Show the next inline suggestion (`count` < 0: the previous one).
---@param count? integer
function M.next(count)
  require('aurelis.inline').cycle(count or 1)
end

--- Hide the inline suggestion until the text changes.
function M.dismiss()
  require('aurelis.inline').dismiss()
end

--- Ask for an inline suggestion now.
function M.trigger()
  require('aurelis.inline').trigger()
end

return M
