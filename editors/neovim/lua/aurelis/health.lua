--- `:checkhealth aurelis`: Neovim version, options, the server command, running servers and
--- what they report.
local M = {}

local health = vim.health

local function check_neovim()
  health.start('Neovim')
  local v = vim.version()
  local version = ('%d.%d.%d'):format(v.major, v.minor, v.patch)
  if vim.fn.has('nvim-0.11') == 1 then
    health.ok('Neovim ' .. version)
  else
    health.error('Neovim ' .. version .. ' is too old', { 'Aurelis needs Neovim 0.11 or later.' })
    return false
  end
  local backend = require('aurelis.inline').backend()
  if backend == 'native' then
    health.ok('inline suggestions: vim.lsp.inline_completion (Neovim 0.12+)')
  else
    health.ok('inline suggestions: Aurelis ghost text (extmarks)')
  end
  return true
end

local function check_options()
  health.start('Options')
  local aurelis = require('aurelis')
  local config = require('aurelis.config')
  if not aurelis.did_setup then
    health.warn('setup() has not run yet', {
      'The plugin runs it after startup with vim.g.aurelis as options,',
      'or call require("aurelis").setup({ ... }) in your config.',
    })
  end
  local o = config.options
  local cmd = config.server_cmd(o)
  local program = cmd[1]
  local cmdline = table.concat(cmd, ' ')
  if vim.fn.executable(program) == 1 then
    health.ok(('server command: `%s` (%s)'):format(cmdline, vim.fn.exepath(program)))
  else
    local message = ('server command `%s` cannot run: `%s` is not an executable')
    health.error(message:format(cmdline, program), {
      'Install the server from a checkout of the Aurelis repository: '
        .. 'pipx install /path/to/aurelis (puts `aurelis` on PATH)',
      'Or into a virtualenv: pip install "/path/to/aurelis[local]", or a built wheel: '
        .. 'pip install dist/aurelis-*.whl',
      'Then point the plugin at that interpreter: setup({ python = "/venv/bin/python" }) '
        .. '(runs `python -P -m aurelis serve`)',
    })
  end
  health.info(('server runs in %s (never the project: nothing there is imported)')
    :format(config.server_cwd()))
  health.info(('filetypes: %s'):format(table.concat(o.filetypes, ', ')))
  health.info(('root markers: %s'):format(table.concat(o.root_markers, ', ')))
  if next(o.settings) then
    local shown = vim.inspect(o.settings, { newline = ' ', indent = '' })
    health.info('settings sent to the server: ' .. shown)
  else
    health.info('settings: none (the server uses its environment and config files)')
  end
  if not o.enable then
    health.warn('`enable` is false: the server starts only if you call vim.lsp.enable("aurelis")')
  elseif vim.fn.executable(program) == 1 and not vim.lsp.is_enabled('aurelis') then
    health.warn('the server is not enabled (vim.lsp.enable("aurelis") has not run)')
  end
end

local function check_client(client)
  local commands = require('aurelis.commands')
  local status = require('aurelis.status')
  local caps = client.server_capabilities or {}
  local buffers = vim.tbl_keys(client.attached_buffers or {})
  table.sort(buffers)
  health.ok(('client %d running (root %s, %d buffer(s), %s positions)'):format(
    client.id, client.root_dir or 'none', #buffers, client.offset_encoding))

  local provider = caps.executeCommandProvider
  local offered = type(provider) == 'table' and provider.commands or {}
  local missing = {}
  for _, spec in ipairs(commands.specs) do
    if not vim.list_contains(offered, spec.command) then
      missing[#missing + 1] = spec.command
    end
  end
  if #missing == 0 then
    health.ok('server offers every editor command')
  else
    health.warn('server lacks commands: ' .. table.concat(missing, ', '),
      { 'Update the server: reinstall it from an up-to-date checkout of the Aurelis repository.' })
  end
  if caps.inlineCompletionProvider then
    health.ok('server provides inline completion')
  else
    health.warn('server does not provide inline completion')
  end
  if caps.codeActionProvider then
    health.ok('server provides code actions')
  else
    health.warn('server does not provide code actions')
  end

  local last = status.by_client[client.id]
  if not last then
    health.info('no aurelis/status received yet')
    return
  end
  health.info(('provider %s, endpoint %s%s'):format(tostring(last.provider),
    last.endpoint ~= nil and last.endpoint ~= vim.NIL and tostring(last.endpoint) or 'none',
    last.offline and ' (offline: local model)' or ''))
  local down = status.unhealthy_models(last)
  if #down > 0 then
    health.warn('unhealthy models: ' .. table.concat(down, ', '))
  end
  if last.last_error ~= nil and last.last_error ~= vim.NIL and last.last_error ~= '' then
    health.warn('last error: ' .. tostring(last.last_error))
  end
end

local function check_clients()
  health.start('Language server')
  local clients = vim.lsp.get_clients({ name = 'aurelis' })
  if #clients == 0 then
    health.info('no Aurelis server running: open a file of one of the `filetypes` to start it')
    return
  end
  for _, client in ipairs(clients) do
    check_client(client)
  end
end

--- Entry point of :checkhealth aurelis.
function M.check()
  if check_neovim() then
    check_options()
    check_clients()
  end
end

return M
