-- Drives one test scenario in a real (headless) Neovim and writes what it observed to a JSON
-- file; tests/editors/test_neovim.py makes the assertions.
--
--   NVIM_TEST_SCENARIO  name of a function in `scenarios` below
--   NVIM_TEST_OUT       where to write {ok, error, data, notifications}
--   NVIM_TEST_SIGNALS   a directory for handshakes with the test process (optional)
--
-- Scenarios run in a coroutine that yields to Neovim's main loop while it waits, so typed
-- keys, autocmds, timers and LSP messages are processed exactly as for a user.
local util = require('aurelis.util')

local result = { ok = false, data = {}, notifications = {} }
local finished = false

-- Every notification, from the plugin or from Neovim, is recorded instead of shown.
vim.notify = function(msg, level)
  local entry = { message = tostring(msg), level = level or vim.log.levels.INFO }
  table.insert(result.notifications, entry)
end

local function finish(ok, err)
  if finished then
    return
  end
  finished = true
  result.ok = ok
  result.error = err
  if not ok then
    -- What the editor looked like when the scenario failed, for the assertion message.
    pcall(function()
      result.data.buffer_at_failure = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false),
        '\n')
      result.data.mode_at_failure = vim.api.nvim_get_mode().mode
    end)
  end
  local file = assert(io.open(assert(vim.env.NVIM_TEST_OUT, 'NVIM_TEST_OUT not set'), 'w'))
  file:write(vim.json.encode(result))
  file:close()
  vim.cmd('qa!')
end

local scenario_co

local function resume(...)
  local ok, err = coroutine.resume(scenario_co, ...)
  if not ok then
    finish(false, debug.traceback(scenario_co, tostring(err)))
  elseif coroutine.status(scenario_co) == 'dead' then
    finish(true)
  end
end

--- Let the main loop run for `ms` milliseconds.
local function sleep(ms)
  vim.defer_fn(resume, ms)
  coroutine.yield()
end

--- Wait until `predicate()` returns a truthy value (returned); fail after `timeout_ms`.
local function wait_for(what, predicate, timeout_ms)
  local deadline = vim.uv.now() + (timeout_ms or 30000)
  while true do
    local value = predicate()
    if value then
      return value
    end
    if vim.uv.now() > deadline then
      error(('timed out waiting for %s'):format(what), 2)
    end
    sleep(20)
  end
end

-- Fed after a scenario's keys, so the scenario resumes only once Neovim has processed them
-- all, in whatever mode they leave it.
local RESUME_KEY = '<Plug>(aurelis-test-resume)'
vim.keymap.set({ 'n', 'i', 'v', 'x', 's', 'o', 'c' }, RESUME_KEY, function()
  vim.schedule(resume)
end)

--- Type `keys` as the user would (mappings apply); returns once they are processed.
local function feed(keys)
  local codes = vim.api.nvim_replace_termcodes(keys .. RESUME_KEY, true, false, true)
  vim.api.nvim_feedkeys(codes, 'mt', false)
  coroutine.yield()
end

local function lines()
  return vim.api.nvim_buf_get_lines(0, 0, -1, false)
end

local function text()
  return table.concat(lines(), '\n')
end

local function open(path)
  vim.cmd.edit(vim.fn.fnameescape(path))
  return wait_for('the Aurelis server to attach', function()
    return util.get_client(0)
  end, 60000)
end

--- Floating windows with their buffer's text and filetype.
local function floats()
  local out = {}
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(win).relative ~= '' then
      local buf = vim.api.nvim_win_get_buf(win)
      out[#out + 1] = {
        text = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n'),
        filetype = vim.bo[buf].filetype,
      }
    end
  end
  return out
end

--- The ghost-text extmarks of the current buffer: virtual text and lines as plain strings.
local function ghost_marks()
  local ns = require('aurelis.ghost').namespace
  local out = {}
  for _, mark in ipairs(vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })) do
    local details = mark[4]
    local chunks = {}
    for _, chunk in ipairs(details.virt_text or {}) do
      chunks[#chunks + 1] = chunk[1]
    end
    local virt_lines = {}
    for _, line in ipairs(details.virt_lines or {}) do
      local parts = {}
      for _, chunk in ipairs(line) do
        parts[#parts + 1] = chunk[1]
      end
      virt_lines[#virt_lines + 1] = table.concat(parts)
    end
    out[#out + 1] = {
      row = mark[2],
      col = mark[3],
      virt_text = table.concat(chunks),
      virt_text_pos = details.virt_text_pos,
      virt_lines = virt_lines,
    }
  end
  return out
end

local function notified_since(count, min_level)
  for i = count + 1, #result.notifications do
    if result.notifications[i].level >= min_level then
      return result.notifications[i]
    end
  end
  return nil
end

--- Put the cursor on the first line matching `pattern` (a Vim regex), in normal mode.
local function goto_line(pattern)
  vim.api.nvim_win_set_cursor(0, { 1, 0 })
  local row = vim.fn.search(pattern, 'c')
  assert(row > 0, 'pattern not found: ' .. pattern)
  return row
end

local function signal(name)
  local file = assert(io.open(vim.env.NVIM_TEST_SIGNALS .. '/' .. name, 'w'))
  file:close()
end

local function signalled(name)
  return vim.uv.fs_stat(vim.env.NVIM_TEST_SIGNALS .. '/' .. name) ~= nil
end

--- Neovim's child processes (the language server): pid, argv and working directory (Linux).
local function child_processes()
  local out = {}
  for _, pid in ipairs(vim.api.nvim_get_proc_children(vim.fn.getpid())) do
    local file = io.open(('/proc/%d/cmdline'):format(pid), 'rb')
    local cmdline = file and file:read('*a') or ''
    if file then
      file:close()
    end
    out[#out + 1] = {
      pid = pid,
      argv = vim.split(cmdline, '\0', { plain = true, trimempty = true }),
      cwd = vim.uv.fs_readlink(('/proc/%d/cwd'):format(pid)) or vim.NIL,
    }
  end
  return out
end

local scenarios = {}

-- :AurelisGenerate inserts the model's code at the cursor.
function scenarios.generate_edit()
  open('calc.py')
  result.data.before = text()
  goto_line('^    result = \\[\\]')
  vim.cmd('AurelisGenerate double every value into result')
  result.data.after = wait_for('the generated code in the buffer', function()
    local now = text()
    return now ~= result.data.before and now:find('GENERATED', 1, true) and now
  end)
end

-- :AurelisTests puts the generated tests in a new test file next to the module.
function scenarios.generate_tests()
  open('calc.py')
  goto_line('^def add')
  vim.cmd('AurelisTests')
  local buf = wait_for('a buffer for the test file', function()
    for _, b in ipairs(vim.api.nvim_list_bufs()) do
      local name = vim.api.nvim_buf_get_name(b)
      if name:match('test_calc%.py$') then
        local content = table.concat(vim.api.nvim_buf_get_lines(b, 0, -1, false), '\n')
        return content:find('def test_add', 1, true) and b
      end
    end
  end)
  result.data.test_file = vim.api.nvim_buf_get_name(buf)
  result.data.test_text = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n')
  result.data.source_modified = vim.bo[vim.fn.bufnr('calc.py')].modified
end

-- A visual line selection sent with :'<,'>AurelisRefactor is replaced by the model's code.
function scenarios.visual_refactor()
  open('calc.py')
  result.data.before = text()
  goto_line('^def mean')
  feed('V4j<Esc>') -- the whole of mean(), as a linewise visual selection
  vim.cmd("'<,'>AurelisRefactor use the builtin sum")
  result.data.after = wait_for('the refactored function in the buffer', function()
    local now = text()
    return now:find('sum(values)', 1, true) and now
  end)
end

-- :AurelisExplain on a selection opens a float holding the model's markdown.
function scenarios.explain_float()
  open('calc.py')
  goto_line('^def add')
  feed('Vj<Esc>')
  vim.cmd("'<,'>AurelisExplain")
  result.data.floats = wait_for('the explanation float', function()
    local found = floats()
    return #found > 0 and found
  end)
  result.data.buffer_unchanged = not vim.bo.modified

  -- :AurelisAnalyze (the whole file) replaces the explanation's float with its own.
  vim.cmd('AurelisAnalyze')
  result.data.analysis_floats = wait_for('the analysis float', function()
    local found = floats()
    return #found == 1 and found[1].text:find('ANALYZED', 1, true) and found
  end)
end

-- The user edits while a command waits for the model: the server applies nothing, and the
-- plugin says so instead of changing the buffer under the user's hands.
function scenarios.stale_edit()
  open('calc.py')
  goto_line('^    result = \\[\\]')
  local before = #result.notifications
  vim.cmd('AurelisGenerate double every value into result')
  feed('Ouser edit meanwhile<Esc>')
  result.data.note = wait_for('a notification that nothing was applied', function()
    return notified_since(before, vim.log.levels.WARN)
  end)
  sleep(500) -- a late edit would land now
  result.data.after = text()
end

-- Typing in insert mode shows ghost text; <M-l> accepts it; <M-e> dismisses the next one.
function scenarios.ghost_text()
  open('calc.py')
  goto_line('^    result = \\[\\]')
  feed('o')
  feed('for value in values:<CR>result.append(')
  result.data.typed_line = vim.api.nvim_get_current_line()
  result.data.marks = wait_for('ghost text', function()
    local marks = ghost_marks()
    return #marks > 0 and marks[1].virt_text ~= '' and marks
  end)
  result.data.mode_while_shown = vim.api.nvim_get_mode().mode
  feed('<M-l>')
  result.data.accepted_line = wait_for('the accepted suggestion in the buffer', function()
    local line = vim.api.nvim_get_current_line()
    return line ~= result.data.typed_line and line
  end)
  result.data.marks_after_accept = ghost_marks()
  result.data.cursor_after_accept = vim.api.nvim_win_get_cursor(0)

  -- A new line brings a new suggestion; <M-e> hides it and it stays hidden.
  feed('<CR>')
  wait_for('ghost text on the next line', function()
    return #ghost_marks() > 0
  end)
  feed('<M-e>')
  sleep(300)
  result.data.marks_after_dismiss = ghost_marks()
  feed('<Esc>')
  result.data.mode_after_escape = vim.api.nvim_get_mode().mode
  result.data.marks_after_escape = ghost_marks()
  result.data.after = text()

  -- On a blank line a suggestion may span lines: the first inline, the rest virtual lines.
  signal('multiline')
  wait_for('the multi-line reply to be scripted', function()
    return signalled('multiline-ready')
  end)
  goto_line('^    return result')
  feed('O')
  local row = vim.api.nvim_win_get_cursor(0)[1]
  result.data.blank_line = vim.api.nvim_get_current_line()
  result.data.multi_marks = wait_for('multi-line ghost text', function()
    local marks = ghost_marks()
    return #marks > 0 and #marks[1].virt_lines > 0 and marks
  end)
  local shown_lines = #result.data.multi_marks[1].virt_lines + 1
  feed('<M-l>')
  result.data.multi_accepted = wait_for('the multi-line suggestion in the buffer', function()
    local now = vim.api.nvim_buf_get_lines(0, row - 1, row - 1 + shown_lines, false)
    return now[1] ~= result.data.blank_line and now
  end)
  result.data.cursor_after_multi = vim.api.nvim_win_get_cursor(0)
  feed('<Esc>')
end

--- Open the code action menu for the last visual selection and choose the first action
--- whose title contains `word`; returns the offered actions and the chosen title.
local function choose_code_action(word)
  local offered, chosen
  vim.ui.select = function(items, _, on_choice)
    offered = {}
    for _, item in ipairs(items) do
      local action = item.action or item
      offered[#offered + 1] = { title = action.title, kind = action.kind or vim.NIL }
    end
    for i, item in ipairs(items) do
      local action = item.action or item
      if action.title:lower():find(word, 1, true) then
        chosen = action.title
        on_choice(item, i)
        return
      end
    end
    on_choice(nil, nil)
  end
  vim.lsp.buf.code_action({
    range = {
      start = { vim.fn.line("'<"), 0 },
      ['end'] = { vim.fn.line("'>"), #vim.fn.getline("'>") },
    },
  })
  wait_for('the code action list', function()
    return offered
  end)
  return offered, chosen or vim.NIL
end

-- vim.lsp.buf.code_action() lists the server's Aurelis actions; choosing one runs it: the
-- refactoring edits the buffer, the explanation opens a float.
function scenarios.code_actions()
  open('calc.py')
  goto_line('^def mean')
  feed('V4j<Esc>')
  result.data.before = text()
  result.data.actions, result.data.refactor_chosen = choose_code_action('refactor')
  result.data.after = wait_for('the refactoring to change the buffer', function()
    local now = text()
    return now:find('sum(values)', 1, true) and now
  end)

  goto_line('^def add')
  feed('Vj<Esc>')
  local _, explain_chosen = choose_code_action('explain')
  result.data.explain_chosen = explain_chosen
  result.data.floats = wait_for('the explanation float', function()
    local found = floats()
    return #found > 0 and found
  end)
end

-- With the model endpoint down, the error reaches vim.notify and Neovim keeps working: a
-- user edit works at once, and an Aurelis edit works once the endpoint is back.
function scenarios.dead_endpoint()
  open('calc.py')
  goto_line('^    result = \\[\\]')
  local before = #result.notifications
  vim.cmd('AurelisGenerate double every value into result')
  local note = wait_for('an error notification', function()
    return notified_since(before, vim.log.levels.WARN)
  end, 90000)
  result.data.error_notification = note
  result.data.client_alive = util.get_client(0) ~= nil and not util.get_client(0):is_stopped()

  -- The editor still edits.
  feed('ouser typed this<Esc>')
  result.data.after_user_edit = text()

  -- The model comes back (the test process starts it on the same port).
  signal('failed')
  wait_for('the model server to come back', function()
    return signalled('back')
  end, 30000)
  goto_line('^    result = \\[\\]')
  vim.cmd('AurelisGenerate double every value into result')
  result.data.after_recovery = wait_for('the generated code after recovery', function()
    local now = text()
    return now:find('GENERATED', 1, true) and now
  end, 90000)
  result.data.client_alive_at_end = util.get_client(0) ~= nil
end

-- The statusline follows aurelis/status; :checkhealth aurelis reports the running server.
function scenarios.status_and_health()
  open('calc.py')
  result.data.statusline = wait_for('a status from the server', function()
    local line = require('aurelis').statusline()
    return line ~= 'Aurelis: starting' and line
  end)
  result.data.status = require('aurelis').status() or vim.NIL
  vim.cmd('checkhealth aurelis')
  result.data.health = text()
end

-- Installed as a package (pack/*/start), no setup() call, a file named on the command line:
-- the server attaches to it without the user doing anything.
function scenarios.pack_startup_attach()
  local bufnr = vim.fn.bufnr(vim.env.NVIM_TEST_STARTUP_FILE)
  result.data.startup_buffer = bufnr
  local client = wait_for('the Aurelis server to attach to the file opened at startup', function()
    return bufnr > 0 and util.get_client(bufnr)
  end, 60000)
  result.data.attached = true
  result.data.did_setup = require('aurelis').did_setup
  result.data.plugin_file = vim.api.nvim_get_runtime_file('plugin/aurelis.lua', false)[1]
  result.data.cmd = client.config.cmd
  result.data.cmd_cwd = client.config.cmd_cwd or vim.NIL
  result.data.root_dir = client.root_dir or vim.NIL
  result.data.processes = child_processes()
end

-- :AurelisTrust / :AurelisUntrust against the real server. The project's .aurelis.toml names
-- its own endpoint: the server must use it only while the project is trusted. After each
-- step: the server's trust map (aurelis/status), `aurelis trust --list` run as a user would,
-- and which endpoint answers :AurelisExplain.
function scenarios.trust_commands()
  local client = open('calc.py')
  result.data.root_dir = client.root_dir
  result.data.cmd = client.config.cmd
  result.data.processes = child_processes()

  local function trust_map()
    local status = require('aurelis').status()
    return status and status.trust or nil
  end
  local function wait_state(want)
    return wait_for('the trust state ' .. want, function()
      local map = trust_map()
      return map and map[client.root_dir] == want and map
    end)
  end
  local function trust_list()
    local python = vim.json.decode(vim.env.NVIM_TEST_LSP_CMD)[1]
    local out = vim.system({ python, '-P', '-m', 'aurelis', 'trust', '--list' }, {
      text = true,
      cwd = client.root_dir,
    }):wait()
    return { code = out.code, stdout = out.stdout, stderr = out.stderr }
  end
  local function explain()
    for _, win in ipairs(vim.api.nvim_list_wins()) do
      if vim.api.nvim_win_get_config(win).relative ~= '' then
        vim.api.nvim_win_close(win, true)
      end
    end
    goto_line('^def add')
    feed('Vj<Esc>')
    vim.cmd("'<,'>AurelisExplain")
    return wait_for('the explanation float', function()
      local found = floats()
      return #found > 0 and found[1].text
    end)
  end
  local function run(command)
    local count = #result.notifications
    vim.cmd(command)
    return wait_for('the answer to ' .. command, function()
      for i = count + 1, #result.notifications do
        local note = result.notifications[i]
        -- A repeated warning about ignored settings would be counted by the test, not here.
        if not note.message:find('ignoring ', 1, true) then
          return note
        end
      end
    end)
  end

  -- Untrusted: the user's endpoint answers, and the server says once what it ignores.
  result.data.initial_map = wait_state('untrusted')
  result.data.untrusted_answer = explain()
  result.data.warning = wait_for('the warning about the ignored endpoint', function()
    return notified_since(0, vim.log.levels.WARN)
  end)

  result.data.trust_note = run('AurelisTrust')
  result.data.trusted_map = wait_state('trusted')
  result.data.trusted_list = trust_list()
  result.data.trusted_answer = explain()

  result.data.untrust_note = run('AurelisUntrust')
  result.data.untrusted_map = wait_state('untrusted')
  result.data.untrusted_list = trust_list()
  result.data.answer_after_untrust = explain()

  -- A folder that is no workspace folder of this editor: the server refuses, the user sees why.
  local outside = vim.env.NVIM_TEST_SIGNALS
  result.data.outside_path = outside
  result.data.outside_note = run('AurelisTrust ' .. vim.fn.fnameescape(outside))
  vim.cmd.enew()
  result.data.detached_note = run('AurelisTrust')
end

-- The plugin's own logic, no server: option checks and LSP ranges of visual selections.
function scenarios.plugin_units()
  local config = require('aurelis.config')
  local saved = config.options
  result.data.problems = config.apply({
    cmd = 'aurelis serve',
    nope = true,
    inline = { debounce_ms = -5, backend = 'ghost', keys = { accept = '<C-y>', bogus = 'x' } },
  })
  result.data.applied = {
    cmd = config.options.cmd,
    debounce_ms = config.options.inline.debounce_ms,
    backend = config.options.inline.backend,
    accept = config.options.inline.keys.accept,
  }
  config.options = saved

  local commands = require('aurelis.commands')
  vim.cmd.enew()
  vim.api.nvim_buf_set_lines(0, 0, -1, false, { 'x = "h\u{e9}llo \u{1F600} w\u{f6}rld"', 'y = 2' })
  -- Select from the emoji (byte 12) to the o-umlaut (bytes 18-19), characterwise.
  vim.api.nvim_win_set_cursor(0, { 1, 12 })
  feed('v')
  vim.api.nvim_win_set_cursor(0, { 1, 18 })
  feed('<Esc>')
  local char_cmd = { range = 2, line1 = 1, line2 = 1 }
  result.data.char_ranges = {}
  for _, encoding in ipairs({ 'utf-8', 'utf-16', 'utf-32' }) do
    result.data.char_ranges[encoding] = commands.command_range(0, char_cmd, encoding)
  end
  feed('Vj<Esc>')
  result.data.line_range = commands.command_range(0, { range = 2, line1 = 1, line2 = 2 }, 'utf-16')
  result.data.no_range = commands.command_range(0, { range = 0, line1 = 1, line2 = 1 }, 'utf-16')
    or vim.NIL
  result.data.statusline_without_server = require('aurelis').statusline()

  -- A result window that takes the cursor closes with `q`, giving the cursor back.
  local origin = vim.api.nvim_get_current_win()
  config.options.float.enter = true
  require('aurelis.ui').show_markdown('# Title\n\nSome *markdown*.\n', 'Aurelis: Test')
  result.data.float_focused = vim.api.nvim_win_get_config(0).relative ~= ''
  result.data.float_lines = vim.api.nvim_buf_get_lines(0, 0, -1, false)
  feed('q')
  result.data.floats_after_q = #floats()
  result.data.back_in_origin = vim.api.nvim_get_current_win() == origin
  config.options.float.enter = false

  -- How a snippet suggestion is drawn as ghost text.
  local snippet_text = require('aurelis.ghost')._snippet_text
  result.data.snippets = {}
  local bodies = { 'f(${1:a}, ${2:b})$0', 'x = ${1:${2:inner}}', '${1|one,two|} \\$5 \\}' }
  for _, body in ipairs(bodies) do
    result.data.snippets[#result.data.snippets + 1] = snippet_text(body)
  end

  -- The launch command: the console script, or an interpreter with -P; never in the project.
  local function with(opts)
    return config.server_cmd(vim.tbl_extend('force', vim.deepcopy(config.defaults), opts))
  end
  result.data.server_cmds = {
    default = with({}),
    python = with({ python = '/opt/venv/bin/python3' }),
    python_cmd = with({ cmd = { 'python3', '-m', 'aurelis', 'serve' } }),
    already_safe = with({ cmd = { '/v/bin/python', '-P', '-m', 'aurelis', 'serve' } }),
    not_python = with({ cmd = { '/opt/bin/aurelis', 'serve' } }),
  }
  result.data.lsp_cmd_cwd = config.lsp_config().cmd_cwd
  result.data.cwd = vim.fn.getcwd()

  -- :checkhealth advice when the server cannot run (last: it leaves the health buffer open).
  config.options = vim.tbl_extend('force', vim.deepcopy(config.defaults),
    { cmd = { '/nonexistent/bin/aurelis', 'serve' } })
  vim.cmd('checkhealth aurelis')
  result.data.health_without_server = text()
  config.options = saved
end

vim.schedule(function()
  local name = vim.env.NVIM_TEST_SCENARIO
  local scenario = scenarios[name]
  if not scenario then
    finish(false, 'unknown scenario: ' .. tostring(name))
    return
  end
  -- A scenario that hangs still ends, with whatever it saw.
  vim.defer_fn(function()
    finish(false, 'scenario watchdog expired')
  end, tonumber(vim.env.NVIM_TEST_WATCHDOG_MS or '150000'))
  scenario_co = coroutine.create(scenario)
  resume()
end)
