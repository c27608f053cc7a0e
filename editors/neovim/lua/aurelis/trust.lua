--- Trusting a project's Aurelis settings from Neovim: `:AurelisTrust` / `:AurelisUntrust`.
---
--- Settings in a project's `.aurelis.toml` (or `[tool.aurelis]`) that decide where code and
--- tokens go, or what is read, written or loaded, count only once the user trusts that
--- project. These commands ask the attached server to record (or drop) that trust, the same
--- as `aurelis trust <path>` / `aurelis untrust <path>` on the command line.
local util = require('aurelis.util')

local M = {}

--- User command -> server command id.
M.server_commands = {
  trust = 'aurelis.trustProject',
  untrust = 'aurelis.untrustProject',
}

--- The folder to (un)trust: `path` when given, else the client's root of `bufnr`.
---@param client vim.lsp.Client
---@param path? string
---@return string?
function M.folder(client, path)
  if path and path ~= '' then
    return vim.fs.normalize(vim.fn.fnamemodify(vim.fn.expand(path), ':p'))
  end
  return client.root_dir
end

--- The `arguments` of the request: the folder, or none (every workspace folder of the server).
---@param folder? string
---@return table
function M.arguments(folder)
  if not folder then
    return {}
  end
  return { { uri = vim.uri_from_fname(folder) } }
end

--- The message for the server's answer: `{ trusted = paths }` / `{ untrusted = paths }`.
---@param kind 'trust'|'untrust'
---@param result any
---@return string
function M.result_message(kind, result)
  local paths = type(result) == 'table'
      and (kind == 'trust' and result.trusted or (result.untrusted or result.trusted))
    or nil
  if type(paths) ~= 'table' or #paths == 0 then
    return kind == 'trust' and 'no project settings were trusted (no project found).'
      or 'no trusted project settings to remove.'
  end
  local list = table.concat(vim.tbl_map(tostring, paths), ', ')
  if kind == 'trust' then
    return ('trusted the project settings of %s.'):format(list)
  end
  return ('the project settings of %s are no longer trusted.'):format(list)
end

--- Send the (un)trust command through the client attached to the current buffer.
---@param kind 'trust'|'untrust'
---@param path? string a project directory (default: the client's root)
---@param on_done? fun(err: any, result: any)
function M.run(kind, path, on_done)
  local bufnr = vim.api.nvim_get_current_buf()
  local client = util.get_client(bufnr)
  if not client then
    util.notify(('the Aurelis server is not attached to this buffer; open a file of the project '
      .. 'first, or run `aurelis %s <path>` in a shell.'):format(kind), vim.log.levels.ERROR)
    return
  end
  local command = {
    title = kind == 'trust' and 'Trust project settings' or 'Untrust project settings',
    command = M.server_commands[kind],
    arguments = M.arguments(M.folder(client, path)),
  }
  client:exec_cmd(command, { bufnr = bufnr }, function(err, result)
    if err then
      util.notify(('%s failed: %s'):format(command.title, util.error_message(err)),
        vim.log.levels.ERROR)
    else
      util.notify(M.result_message(kind, result), vim.log.levels.INFO)
    end
    if on_done then
      on_done(err, result)
    end
  end)
end

--- Create :AurelisTrust and :AurelisUntrust.
function M.create_user_commands()
  for kind, desc in pairs({
    trust = 'trust the project settings (.aurelis.toml / [tool.aurelis]) of [dir] or this project',
    untrust = 'stop trusting the project settings of [dir] or this project',
  }) do
    local name = kind == 'trust' and 'AurelisTrust' or 'AurelisUntrust'
    vim.api.nvim_create_user_command(name, function(cmd)
      M.run(kind, cmd.args)
    end, { nargs = '?', complete = 'dir', desc = 'Aurelis: ' .. desc })
  end
end

return M
