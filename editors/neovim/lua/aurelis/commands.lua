--- The editor commands: `:AurelisGenerate` and friends, each a `workspace/executeCommand`
--- request to the server, and the rendering of their results.
---
--- Arguments sent (one table, 0-based LSP positions in the client's offset encoding):
---   { uri, version, position, range?, instruction? }
--- Results: explain/analyze -> { markdown }; the rest -> { applied, message? } (the server
--- applies its edits itself through workspace/applyEdit).
local config = require('aurelis.config')
local status = require('aurelis.status')
local ui = require('aurelis.ui')
local util = require('aurelis.util')

local M = {}

---@class aurelis.CommandSpec
---@field name string user command
---@field command string server command id
---@field title string
---@field desc string
---@field instruction? boolean takes free text after the command name
---@field markdown? boolean result is { markdown } shown in a float

---@type aurelis.CommandSpec[]
M.specs = {
  {
    name = 'AurelisGenerate',
    command = 'aurelis.generate',
    title = 'Generate',
    desc = 'Generate code at the cursor from {instruction} (or the comment at the cursor)',
    instruction = true,
  },
  {
    name = 'AurelisDocument',
    command = 'aurelis.document',
    title = 'Document',
    desc = 'Document the selection or the function/class at the cursor',
  },
  {
    name = 'AurelisRefactor',
    command = 'aurelis.refactor',
    title = 'Refactor',
    desc = 'Refactor the selection, following the optional {instruction}',
    instruction = true,
  },
  {
    name = 'AurelisOptimize',
    command = 'aurelis.optimize',
    title = 'Optimize',
    desc = 'Optimize the selection',
  },
  {
    name = 'AurelisErrorHandling',
    command = 'aurelis.addErrorHandling',
    title = 'Add error handling',
    desc = 'Add error handling to the selection',
  },
  {
    name = 'AurelisTests',
    command = 'aurelis.generateTests',
    title = 'Generate tests',
    desc = 'Generate tests for the selection or the function at the cursor',
  },
  {
    name = 'AurelisExplain',
    command = 'aurelis.explain',
    title = 'Explain',
    desc = 'Explain the selection in a floating window',
    markdown = true,
  },
  {
    name = 'AurelisAnalyze',
    command = 'aurelis.analyze',
    title = 'Analysis',
    desc = 'Analyze the file (or the selection) in a floating window',
    markdown = true,
  },
}

---@type table<string, aurelis.CommandSpec>
M.by_command = {}
for _, spec in ipairs(M.specs) do
  M.by_command[spec.command] = spec
end

--- LSP error code of a request the client cancelled.
local REQUEST_CANCELLED = -32800

--- Requests in flight: request id -> { client_id, title, cancelled }.
---@type table<integer, { client_id: integer, title: string, cancelled: boolean }>
M.inflight = {}

--- The LSP range of a user command's range.
---
--- A characterwise visual selection (`v`) gives its exact columns; any other range covers
--- whole lines, from the first column of `line1` to the end of `line2`.
---@param bufnr integer
---@param cmd_opts { range: integer, line1: integer, line2: integer }
---@param encoding string
---@return lsp.Range?
function M.command_range(bufnr, cmd_opts, encoding)
  if not cmd_opts or (cmd_opts.range or 0) == 0 then
    return nil
  end
  local line1, line2 = cmd_opts.line1, cmd_opts.line2
  local first, last = util.line(bufnr, line1 - 1), util.line(bufnr, line2 - 1)
  local vstart = vim.api.nvim_buf_get_mark(bufnr, '<')
  local vend = vim.api.nvim_buf_get_mark(bufnr, '>')
  if cmd_opts.range == 2 and vim.fn.visualmode() == 'v' and vstart[1] == line1
    and vend[1] == line2 then
    -- '> marks the first byte of the last selected character; the LSP end is exclusive.
    local end_byte = #last
    if vend[2] < #last then
      end_byte = vim.str_utf_end(last, vend[2] + 1) + vend[2] + 1
    end
    return {
      start = { line = line1 - 1, character = util.character(first, vstart[2], encoding) },
      ['end'] = { line = line2 - 1, character = util.character(last, end_byte, encoding) },
    }
  end
  return {
    start = { line = line1 - 1, character = 0 },
    ['end'] = { line = line2 - 1, character = util.character(last, #last, encoding) },
  }
end

--- The argument table for a server command on `bufnr` (cursor of the current window).
---@param client vim.lsp.Client
---@param bufnr integer
---@param opts? { range?: lsp.Range, instruction?: string }
---@return table
function M.arguments(client, bufnr, opts)
  opts = opts or {}
  local encoding = client.offset_encoding
  local win = vim.api.nvim_get_current_win()
  if vim.api.nvim_win_get_buf(win) ~= bufnr then
    win = vim.fn.bufwinid(bufnr)
  end
  local row, col = unpack(vim.api.nvim_win_get_cursor(win))
  local args = {
    uri = vim.uri_from_bufnr(bufnr),
    version = vim.lsp.util.buf_versions[bufnr] or 0,
    position = {
      line = row - 1,
      character = util.character(util.line(bufnr, row - 1), col, encoding),
    },
  }
  if opts.range then
    args.range = opts.range
  end
  if opts.instruction and vim.trim(opts.instruction) ~= '' then
    args.instruction = vim.trim(opts.instruction)
  end
  return args
end

--- Show a command's result: markdown in a float, a note when nothing was applied.
---@param spec aurelis.CommandSpec
---@param result any
function M.show_result(spec, result)
  if type(result) ~= 'table' then
    if spec.markdown then
      util.notify(spec.title .. ': the server returned no text.', vim.log.levels.WARN)
    end
    return
  end
  if spec.markdown then
    if type(result.markdown) == 'string' and result.markdown ~= '' then
      ui.show_markdown(result.markdown, 'Aurelis: ' .. spec.title)
    else
      util.notify(spec.title .. ': the server returned no text.', vim.log.levels.WARN)
    end
    return
  end
  local message = result.message
  if type(message) ~= 'string' or message == '' then
    message = nil
  end
  if result.applied == false then
    util.notify(message or (spec.title .. ': no change was applied.'), vim.log.levels.WARN)
  elseif message then
    util.notify(message, vim.log.levels.INFO)
  end
end

--- Send `command` with `arguments` to the Aurelis server of `bufnr` and render the result.
---@param spec aurelis.CommandSpec
---@param client vim.lsp.Client
---@param bufnr integer
---@param arguments any[]
---@param on_done? fun(err: any, result: any)
---@return integer? request_id
function M.request(spec, client, bufnr, arguments, on_done)
  local provider = client.server_capabilities.executeCommandProvider
  local offered = type(provider) == 'table' and provider.commands or {}
  if not vim.list_contains(offered, spec.command) then
    util.notify(('the server does not offer `%s`; is it an older version?'):format(spec.command),
      vim.log.levels.ERROR)
    return nil
  end

  local request_id
  status.track(client.id, 1)
  local params = { command = spec.command, arguments = arguments }
  local ok, id = client:request('workspace/executeCommand', params, function(err, result)
    local entry = request_id and M.inflight[request_id]
    if request_id then
      M.inflight[request_id] = nil
    end
    status.track(client.id, -1)
    -- A request cancelled here was reported then; its late answer is no longer wanted.
    local wanted = not (entry and entry.cancelled)
    if wanted and err then
      if err.code == REQUEST_CANCELLED then
        util.notify(spec.title .. ' was cancelled.', vim.log.levels.INFO)
      else
        util.notify(('%s failed: %s'):format(spec.title, util.error_message(err)),
          vim.log.levels.ERROR)
      end
    elseif wanted then
      M.show_result(spec, result)
    end
    if on_done then
      on_done(err, result)
    end
  end, bufnr)
  if not ok or not id then
    status.track(client.id, -1)
    util.notify(spec.title .. ': the Aurelis server is not running (see :checkhealth aurelis).',
      vim.log.levels.ERROR)
    return nil
  end
  request_id = id
  M.inflight[id] = { client_id = client.id, title = spec.title, cancelled = false }

  local timeout_ms = math.floor(config.options.command_timeout * 1000)
  vim.defer_fn(function()
    local entry = M.inflight[id]
    if entry and not entry.cancelled then
      entry.cancelled = true
      client:cancel_request(id)
      util.notify(('%s gave no answer within %d s and was cancelled.')
        :format(spec.title, config.options.command_timeout), vim.log.levels.WARN)
    end
  end, timeout_ms)
  return id
end

--- Run the editor command `spec` on the current buffer.
---@param spec aurelis.CommandSpec
---@param opts? { range?: lsp.Range, cmd_opts?: table, instruction?: string, on_done?: function }
---@return integer? request_id
function M.run(spec, opts)
  opts = opts or {}
  local bufnr = vim.api.nvim_get_current_buf()
  local client = util.get_client(bufnr)
  if not client then
    util.notify(spec.title .. ': the Aurelis server is not attached to this buffer '
      .. '(see :checkhealth aurelis).', vim.log.levels.ERROR)
    return nil
  end
  local range = opts.range
  if not range and opts.cmd_opts then
    range = M.command_range(bufnr, opts.cmd_opts, client.offset_encoding)
  end
  local args = M.arguments(client, bufnr, { range = range, instruction = opts.instruction })
  return M.request(spec, client, bufnr, { args }, opts.on_done)
end

--- Cancel every editor command still running.
---@return integer count cancelled
function M.cancel_all()
  local count = 0
  for id, entry in pairs(M.inflight) do
    if not entry.cancelled then
      local client = vim.lsp.get_client_by_id(entry.client_id)
      entry.cancelled = true
      if client then
        client:cancel_request(id)
      end
      count = count + 1
    end
  end
  return count
end

--- Client-side handlers for the server's command ids, used when a code action (or an
--- inline completion item) carries one of them: the request goes to the server as usual and
--- the result is rendered like the user command's.
---@return table<string, fun(command: lsp.Command, ctx: table)>
function M.client_commands()
  local handlers = {}
  for _, spec in ipairs(M.specs) do
    handlers[spec.command] = function(command, ctx)
      local client = vim.lsp.get_client_by_id(ctx.client_id)
      if client then
        M.request(spec, client, ctx.bufnr, command.arguments or {})
      end
    end
  end
  return handlers
end

--- Create the user commands (:AurelisGenerate, ..., :AurelisStatus, :AurelisCancel).
function M.create_user_commands()
  for _, spec in ipairs(M.specs) do
    vim.api.nvim_create_user_command(spec.name, function(cmd_opts)
      M.run(spec, { cmd_opts = cmd_opts, instruction = spec.instruction and cmd_opts.args or nil })
    end, {
      nargs = spec.instruction and '*' or 0,
      range = true,
      desc = 'Aurelis: ' .. spec.desc,
    })
  end
  vim.api.nvim_create_user_command('AurelisStatus', function()
    ui.show_markdown(status.describe(0), 'Aurelis: Status')
  end, { desc = 'Aurelis: show the server, models and last error' })
  vim.api.nvim_create_user_command('AurelisCancel', function()
    local count = M.cancel_all()
    util.notify(count == 0 and 'nothing to cancel.' or ('cancelled %d request(s).'):format(count))
  end, { desc = 'Aurelis: cancel the running editor commands' })
end

return M
