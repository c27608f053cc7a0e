-- Aurelis: user commands, and the language server registered with the options of
-- `vim.g.aurelis` unless `require('aurelis').setup()` is called by the user.
if vim.g.loaded_aurelis then
  return
end
vim.g.loaded_aurelis = true

if vim.fn.has('nvim-0.11') ~= 1 then
  vim.notify('Aurelis needs Neovim 0.11 or later.', vim.log.levels.ERROR)
  return
end

require('aurelis.commands').create_user_commands()
require('aurelis.trust').create_user_commands()

vim.api.nvim_create_user_command('AurelisInline', function(cmd)
  local arg = cmd.fargs[1] or 'toggle'
  local values = { on = true, enable = true, off = false, disable = false }
  if values[arg] == nil and arg ~= 'toggle' then
    vim.notify('Aurelis: :AurelisInline takes on, off or toggle', vim.log.levels.ERROR)
    return
  end
  require('aurelis.inline').set_enabled(values[arg])
end, {
  nargs = '?',
  complete = function()
    return { 'on', 'off', 'toggle' }
  end,
  desc = 'Aurelis: turn inline suggestions on/off in this buffer',
})

-- Deferred: a plugin manager that sources this file calls setup(opts) right after, and the
-- defaults must not start a server (or warn about a missing one) before that.
vim.schedule(function()
  local aurelis = require('aurelis')
  if not aurelis.did_setup then
    aurelis.setup(vim.g.aurelis)
  end
end)
