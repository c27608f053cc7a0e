--- Inline completion: picks the backend and maps the accept/next/dismiss keys.
---
--- Neovim 0.12+ has `vim.lsp.inline_completion`; 0.11 gets the plugin's own ghost text
--- (aurelis.ghost). Both are driven by the server's `textDocument/inlineCompletion`.
local config = require('aurelis.config')
local util = require('aurelis.util')

local M = {}

--- Backend per buffer: 'native' or 'ghost'.
---@type table<integer, string>
M.backend_of = {}

--- Which backend the options ask for on this Neovim.
---@return 'native'|'ghost'
function M.backend()
  local wanted = config.options.inline.backend
  local has_native = vim.lsp.inline_completion ~= nil
  if wanted == 'ghost' then
    return 'ghost'
  end
  if wanted == 'native' and not has_native then
    vim.notify_once('Aurelis: inline.backend = "native" needs Neovim 0.12; using ghost text.',
      vim.log.levels.WARN)
  end
  return has_native and 'native' or 'ghost'
end

local native = {}

function native.accept(bufnr)
  return vim.lsp.inline_completion.get({ bufnr = bufnr })
end

function native.cycle(count, bufnr)
  vim.lsp.inline_completion.select({ bufnr = bufnr, count = count })
end

function native.dismiss(bufnr)
  -- 0.12 has no public "dismiss": turn it off for the buffer until the text changes.
  vim.lsp.inline_completion.enable(false, { bufnr = bufnr })
  vim.api.nvim_create_autocmd({ 'TextChangedI', 'InsertLeave' }, {
    buffer = bufnr,
    once = true,
    callback = function()
      if config.options.inline.enabled and vim.b[bufnr].aurelis_inline ~= false then
        vim.lsp.inline_completion.enable(true, { bufnr = bufnr })
      end
    end,
  })
end

function native.trigger(_) end

--- The functions of the backend in use for `bufnr`.
local function impl(bufnr)
  if M.backend_of[bufnr] == 'native' then
    return native
  end
  local ghost = require('aurelis.ghost')
  return {
    accept = ghost.accept,
    cycle = ghost.cycle,
    dismiss = ghost.dismiss,
    trigger = ghost.trigger,
  }
end

--- Accept the shown suggestion in `bufnr`; false when none is shown.
---@param bufnr? integer
---@return boolean
function M.accept(bufnr)
  bufnr = util.bufnr(bufnr)
  return M.backend_of[bufnr] ~= nil and impl(bufnr).accept(bufnr) or false
end

--- Show the next suggestion (`count` < 0: previous).
---@param count? integer
---@param bufnr? integer
function M.cycle(count, bufnr)
  bufnr = util.bufnr(bufnr)
  if M.backend_of[bufnr] then
    impl(bufnr).cycle(count or 1, bufnr)
  end
end

--- Hide the suggestion until the text changes.
---@param bufnr? integer
function M.dismiss(bufnr)
  bufnr = util.bufnr(bufnr)
  if M.backend_of[bufnr] then
    impl(bufnr).dismiss(bufnr)
  end
end

--- Ask for a suggestion now.
---@param bufnr? integer
function M.trigger(bufnr)
  bufnr = util.bufnr(bufnr)
  if M.backend_of[bufnr] then
    impl(bufnr).trigger(bufnr)
  end
end

--- Map the configured keys in insert mode for `bufnr`.
---@param bufnr integer
local function map_keys(bufnr)
  local keys = config.options.inline.keys
  local function map(lhs, fn, desc)
    if lhs then
      vim.keymap.set('i', lhs, fn, { buffer = bufnr, silent = true, desc = 'Aurelis: ' .. desc })
    end
  end
  map(keys.accept, function() M.accept(bufnr) end, 'accept the suggestion')
  map(keys.next, function() M.cycle(1, bufnr) end, 'next suggestion')
  map(keys.prev, function() M.cycle(-1, bufnr) end, 'previous suggestion')
  map(keys.dismiss, function() M.dismiss(bufnr) end, 'dismiss the suggestion')
  if M.backend_of[bufnr] == 'ghost' then
    map(keys.trigger, function() M.trigger(bufnr) end, 'ask for a suggestion')
  end
  if config.options.inline.accept_with_tab then
    vim.keymap.set('i', '<Tab>', function()
      if M.backend_of[bufnr] == 'native' then
        return native.accept(bufnr) and '' or '<Tab>'
      end
      if require('aurelis.ghost').is_visible(bufnr) then
        -- Buffer changes are not allowed while an <expr> mapping is evaluated.
        vim.schedule(function() M.accept(bufnr) end)
        return ''
      end
      return '<Tab>'
    end, { buffer = bufnr, expr = true, silent = true, desc = 'Aurelis: accept or <Tab>' })
  end
end

--- Turn inline completion on in `bufnr` for `client` (called on LspAttach).
---@param bufnr integer
---@param client vim.lsp.Client
function M.attach(bufnr, client)
  if not client:supports_method('textDocument/inlineCompletion', bufnr) then
    return
  end
  local backend = M.backend()
  M.backend_of[bufnr] = backend
  if backend == 'native' then
    vim.lsp.inline_completion.enable(
      config.options.inline.enabled and vim.b[bufnr].aurelis_inline ~= false,
      { bufnr = bufnr })
  else
    require('aurelis.ghost').attach(bufnr, client)
  end
  map_keys(bufnr)
end

--- Turn inline completion off in `bufnr` (LspDetach).
---@param bufnr integer
function M.detach(bufnr)
  local backend = M.backend_of[bufnr]
  M.backend_of[bufnr] = nil
  if backend == 'native' then
    pcall(vim.lsp.inline_completion.enable, false, { bufnr = bufnr })
  elseif backend == 'ghost' then
    require('aurelis.ghost').detach(bufnr)
  end
end

--- Enable (true), disable (false) or toggle (nil) suggestions in `bufnr`.
---@param value? boolean
---@param bufnr? integer
---@return boolean enabled
function M.set_enabled(value, bufnr)
  bufnr = util.bufnr(bufnr)
  if value == nil then
    value = vim.b[bufnr].aurelis_inline == false
  end
  vim.b[bufnr].aurelis_inline = value
  if M.backend_of[bufnr] == 'native' then
    vim.lsp.inline_completion.enable(value and config.options.inline.enabled, { bufnr = bufnr })
  elseif not value then
    require('aurelis.ghost').dismiss(bufnr)
  end
  util.notify(('inline suggestions %s in this buffer.'):format(value and 'on' or 'off'))
  return value
end

return M
