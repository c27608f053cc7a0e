--- Suggestion outcomes: tells the server which inline items were shown.
---
--- Each item the server returns carries an id as the one argument of its command
--- (`aurelis.acceptSuggestion`); accepting an item runs that command (ghost.accept, and
--- Neovim 0.12's native inline completion), which is how the server counts accepts. Shown
--- items are reported here with `aurelis/didShowCompletion`, once per item.

local M = {}

M.ACCEPT_COMMAND = 'aurelis.acceptSuggestion'
M.SHOWN_NOTIFICATION = 'aurelis/didShowCompletion'

--- The server's id for an item's command, or nil for an item that is not Aurelis's.
---@param command? lsp.Command
---@return string?
function M.id_of(command)
  if type(command) ~= 'table' or command.command ~= M.ACCEPT_COMMAND then
    return nil
  end
  local id = type(command.arguments) == 'table' and command.arguments[1] or nil
  return type(id) == 'string' and id ~= '' and id or nil
end

--- Report `item` shown (once; later calls for the same item do nothing).
---@param client_id integer
---@param item { command?: lsp.Command, reported_shown?: boolean }
function M.shown(client_id, item)
  if item.reported_shown then
    return
  end
  local id = M.id_of(item.command)
  if not id then
    return
  end
  item.reported_shown = true
  local client = vim.lsp.get_client_by_id(client_id)
  if client then
    client:notify(M.SHOWN_NOTIFICATION, { id = id })
  end
end

return M
