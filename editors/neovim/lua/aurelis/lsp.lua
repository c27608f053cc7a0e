--- The client side of the Aurelis language server: the config handed to vim.lsp, the
--- handlers for what the server sends, and what happens when a client attaches.
local commands = require('aurelis.commands')
local config = require('aurelis.config')
local status = require('aurelis.status')
local util = require('aurelis.util')

local M = {}

--- Whether register() enabled the server (so a later setup({ enable = false }) undoes it).
M.enabled = false

local MESSAGE_LEVELS = {
  [1] = vim.log.levels.ERROR,
  [2] = vim.log.levels.WARN,
  [3] = vim.log.levels.INFO,
  [4] = vim.log.levels.DEBUG,
}

--- `window/showMessage`: every server message goes through vim.notify (Neovim's default
--- handler echoes all but errors, which a notification UI would never see).
---@param params lsp.ShowMessageParams
function M.on_show_message(_, params)
  if type(params) == 'table' and type(params.message) == 'string' then
    util.notify(params.message, MESSAGE_LEVELS[params.type] or vim.log.levels.INFO)
  end
  return vim.NIL
end

--- The full `vim.lsp.Config` for the server (what lsp/aurelis.lua returns).
---@return vim.lsp.Config
function M.base_config()
  local cfg = config.lsp_config()
  cfg.capabilities = {
    -- LSP 3.18; Neovim 0.11 does not advertise it on its own.
    textDocument = { inlineCompletion = { dynamicRegistration = false } },
    -- vim.lsp.util.apply_workspace_edit handles documentChanges (versioned edits, file
    -- creation) but Neovim 0.11 does not say so; the server needs it to create test files.
    workspace = { workspaceEdit = { documentChanges = true } },
  }
  cfg.handlers = {
    ['aurelis/status'] = status.on_status,
    ['window/showMessage'] = M.on_show_message,
  }
  cfg.commands = commands.client_commands()
  cfg.on_exit = function(_, _, client_id)
    -- Neovim itself reports an abnormal exit; only the stale status has to go.
    status.forget(client_id)
  end
  return cfg
end

--- How to install the server: there is no `aurelis` on PyPI; it comes from a checkout of the
--- Aurelis repository or a wheel built there.
M.INSTALL_HINT = 'pipx install /path/to/aurelis (a checkout of the Aurelis repository), or '
  .. 'pip install "/path/to/aurelis[local]" in a virtualenv, or pip install dist/aurelis-*.whl'

--- Start the server for the buffers that were opened before it was enabled.
---
--- vim.lsp.enable() only re-runs FileType for open buffers once VimEnter has happened. With
--- the plugin installed as a package and no setup() call, setup is scheduled from
--- plugin/aurelis.lua; whenever something lets the event loop run during startup (another
--- plugin's FileType hook calling vim.wait, a UI handshake) it runs after the startup files
--- were loaded but before VimEnter, and the file named on the command line was never
--- attached.
local function attach_open_buffers_after_startup()
  if vim.v.vim_did_enter == 1 then
    return
  end
  vim.api.nvim_create_autocmd('VimEnter', {
    group = vim.api.nvim_create_augroup('aurelis.startup', { clear = true }),
    once = true,
    callback = function()
      if M.enabled then
        -- The group vim.lsp.enable() creates; its callback attaches each buffer once.
        pcall(vim.cmd.doautoall, 'nvim.lsp.enable FileType')
      end
    end,
  })
end

--- Register the server with vim.lsp (and enable it when the options say so).
--- Returns false (and says why) when the server command cannot be run.
---@return boolean
function M.register()
  vim.lsp.config(util.client_name, M.base_config())
  if not config.options.enable then
    if M.enabled then
      -- An earlier setup() enabled it; this one asks for manual control.
      vim.lsp.enable(util.client_name, false)
      M.enabled = false
    end
    return true
  end
  local program = config.server_cmd()[1]
  if vim.fn.executable(program) ~= 1 then
    -- Enabling anyway would raise an error each time a file of `filetypes` opens.
    util.notify(('cannot run the language server: `%s` is not an executable. Install it (%s), '
      .. 'or set `python` to an interpreter that has it, e.g. setup({ python = '
      .. '"~/venvs/aurelis/bin/python" }).'):format(program, M.INSTALL_HINT), vim.log.levels.WARN)
    return false
  end
  vim.lsp.enable(util.client_name)
  M.enabled = true
  attach_open_buffers_after_startup()
  return true
end

--- LspAttach / LspDetach autocmds that turn the buffer features on and off.
function M.create_autocmds()
  local group = vim.api.nvim_create_augroup('aurelis.lsp', { clear = true })
  vim.api.nvim_create_autocmd('LspAttach', {
    group = group,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == util.client_name then
        require('aurelis.inline').attach(args.buf, client)
      end
    end,
  })
  vim.api.nvim_create_autocmd('LspDetach', {
    group = group,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == util.client_name then
        require('aurelis.inline').detach(args.buf)
      end
    end,
  })
end

return M
