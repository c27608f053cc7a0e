--- Options of the Aurelis plugin: defaults, validation and the LSP client config built from them.
---
--- Options come from `require('aurelis').setup(opts)` or, without a setup call, from
--- `vim.g.aurelis` (a table). A bad or unknown option is reported and its default kept, so a
--- typo never leaves the editor without the plugin.
local M = {}

--- The plugin's defaults. `setup()` deep-merges the user's table over a copy of this.
---@class aurelis.Options
M.defaults = {
  -- The language server command: the `aurelis` console script. A Python interpreter named
  -- here (e.g. { '/venv/bin/python', '-m', 'aurelis', 'serve' }) is given `-P`.
  cmd = { 'aurelis', 'serve' },
  -- A Python interpreter that has Aurelis installed (e.g. '~/venvs/aurelis/bin/python').
  -- When set, the server runs as { python, '-P', '-m', 'aurelis', 'serve' } and `cmd` is
  -- ignored. `-P` keeps the working directory off sys.path.
  python = nil,
  -- Extra environment for the server process (nil: inherit Neovim's).
  cmd_env = nil,
  filetypes = {
    'bash', 'c', 'cpp', 'cs', 'css', 'go', 'html', 'java', 'javascript', 'javascriptreact',
    'json', 'kotlin', 'lua', 'php', 'python', 'ruby', 'rust', 'scala', 'sh', 'sql', 'swift',
    'toml', 'typescript', 'typescriptreact', 'vim', 'yaml', 'zsh',
  },
  root_markers = { '.aurelis.toml', 'pyproject.toml', '.git' },
  -- The `aurelis` settings section: sent as initializationOptions, answered to
  -- workspace/configuration and pushed with didChangeConfiguration. Empty means the
  -- server uses its own configuration (env vars, project and user files).
  settings = {},
  -- Call vim.lsp.enable('aurelis') so the server starts for `filetypes`.
  enable = true,
  -- Seconds an editor command (:AurelisGenerate, ...) may run before the client gives up.
  command_timeout = 180,
  float = {
    border = 'rounded',
    max_width = 100,
    -- Fraction of the editor height the explain/analyze window may take.
    max_height = 0.7,
    -- Move the cursor into the window so it can be scrolled; `q` closes it.
    enter = true,
  },
  inline = {
    enabled = true,
    -- 'auto': vim.lsp.inline_completion on Neovim 0.12+, the plugin's own ghost text on 0.11.
    -- 'native' forces the former (needs 0.12), 'ghost' the latter.
    backend = 'auto',
    debounce_ms = 150,
    -- Set a key to false to leave it unmapped.
    keys = {
      accept = '<M-l>',
      next = '<M-]>',
      prev = '<M-[>',
      dismiss = '<M-e>',
      trigger = '<M-\\>',
    },
    -- Also accept with <Tab> while a suggestion is shown (a plain <Tab> otherwise).
    accept_with_tab = false,
    hl_group = 'AurelisGhostText',
  },
}

---@type aurelis.Options
M.options = vim.deepcopy(M.defaults)

local function is_string_list(v)
  if type(v) ~= 'table' or not vim.islist(v) then
    return false
  end
  for _, item in ipairs(v) do
    if type(item) ~= 'string' then
      return false
    end
  end
  return true
end

local function is_key(v)
  return v == false or (type(v) == 'string' and v ~= '')
end

--- Dotted option path -> { check, what is expected }. Tables not listed here are containers.
local SCHEMA = {
  cmd = {
    function(v) return is_string_list(v) and #v > 0 end,
    'a non-empty list of strings, e.g. { "aurelis", "serve" }',
  },
  cmd_env = { function(v) return v == nil or type(v) == 'table' end, 'a table or nil' },
  python = {
    function(v) return v == nil or (type(v) == 'string' and v ~= '') end,
    'a path to a Python interpreter, or nil',
  },
  filetypes = { is_string_list, 'a list of filetypes' },
  root_markers = { is_string_list, 'a list of file names' },
  settings = { function(v) return type(v) == 'table' end, 'a table' },
  enable = { function(v) return type(v) == 'boolean' end, 'true or false' },
  command_timeout = {
    function(v) return type(v) == 'number' and v > 0 end,
    'a number of seconds > 0',
  },
  ['float.border'] = {
    function(v) return type(v) == 'string' or type(v) == 'table' end,
    'a border name or list',
  },
  ['float.max_width'] = {
    function(v) return type(v) == 'number' and v >= 20 end,
    'a number >= 20',
  },
  ['float.max_height'] = {
    function(v) return type(v) == 'number' and v > 0 and v <= 1 end,
    'a fraction between 0 and 1',
  },
  ['float.enter'] = { function(v) return type(v) == 'boolean' end, 'true or false' },
  ['inline.enabled'] = { function(v) return type(v) == 'boolean' end, 'true or false' },
  ['inline.backend'] = {
    function(v) return v == 'auto' or v == 'native' or v == 'ghost' end,
    '"auto", "native" or "ghost"',
  },
  ['inline.debounce_ms'] = {
    function(v) return type(v) == 'number' and v >= 0 end,
    'a number of milliseconds >= 0',
  },
  ['inline.keys.accept'] = { is_key, 'a key or false' },
  ['inline.keys.next'] = { is_key, 'a key or false' },
  ['inline.keys.prev'] = { is_key, 'a key or false' },
  ['inline.keys.dismiss'] = { is_key, 'a key or false' },
  ['inline.keys.trigger'] = { is_key, 'a key or false' },
  ['inline.accept_with_tab'] = { function(v) return type(v) == 'boolean' end, 'true or false' },
  ['inline.hl_group'] = {
    function(v) return type(v) == 'string' and v ~= '' end,
    'a highlight group name',
  },
}

local function get_path(tbl, path)
  return vim.tbl_get(tbl, unpack(vim.split(path, '.', { plain = true })))
end

local function set_path(tbl, path, value)
  local keys = vim.split(path, '.', { plain = true })
  for i = 1, #keys - 1 do
    tbl = tbl[keys[i]]
  end
  tbl[keys[#keys]] = value
end

--- Paths in `given` that are neither options nor option containers.
local function unknown_paths(given, prefix, out)
  for key, value in pairs(given) do
    local path = prefix .. tostring(key)
    if SCHEMA[path] == nil then
      if type(value) == 'table' and type(get_path(M.defaults, path)) == 'table' then
        unknown_paths(value, path .. '.', out)
      else
        out[#out + 1] = path
      end
    end
  end
end

--- Merge `opts` over the defaults and make them current.
---@param opts? table
---@return string[] problems one line per bad or unknown option (its default was kept)
function M.apply(opts)
  opts = type(opts) == 'table' and opts or {}
  local problems = {}
  local unknown = {}
  unknown_paths(opts, '', unknown)
  table.sort(unknown)
  for _, path in ipairs(unknown) do
    problems[#problems + 1] = ('unknown option `%s` (ignored)'):format(path)
  end

  local merged = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts)
  local paths = vim.tbl_keys(SCHEMA)
  table.sort(paths)
  for _, path in ipairs(paths) do
    local check, expected = SCHEMA[path][1], SCHEMA[path][2]
    local value = get_path(merged, path)
    if not check(value) then
      problems[#problems + 1] = ('option `%s` must be %s, not %s; using the default')
        :format(path, expected, vim.inspect(value))
      set_path(merged, path, vim.deepcopy(get_path(M.defaults, path)))
    end
  end
  M.options = merged
  return problems
end

--- A copy of `value` in which every empty table is a JSON object: vim.json would send `{}`
--- as `[]`, and the server wants objects for its settings.
---@param value any
---@return any
local function json_objects(value)
  if type(value) ~= 'table' then
    return value
  end
  if next(value) == nil then
    return vim.empty_dict()
  end
  local copy = {}
  for key, item in pairs(value) do
    copy[key] = json_objects(item)
  end
  return copy
end

--- True for `python`, `python3`, `python3.12`, `/venv/bin/python`, `python.exe`, ...
---@param program string
---@return boolean
function M.is_python(program)
  local base = vim.fs.basename(program):lower():gsub('%.exe$', '')
  return base:match('^python[%d.]*$') ~= nil
end

--- The server command line. Nothing from the workspace may be imported: the console script
--- puts its own bin directory first on sys.path, and an interpreter gets `-P` so the working
--- directory is not on it (a workspace `secrets.py` or `aurelis/` would be found first).
---@param o? aurelis.Options
---@return string[]
function M.server_cmd(o)
  o = o or M.options
  if o.python then
    return { vim.fs.normalize(o.python), '-P', '-m', 'aurelis', 'serve' }
  end
  local cmd = vim.deepcopy(o.cmd)
  if M.is_python(cmd[1]) and not vim.list_contains(cmd, '-P') then
    table.insert(cmd, 2, '-P')
  end
  return cmd
end

--- The plugin's own directory (…/editors/neovim, or pack/*/start/aurelis).
local plugin_root = vim.fs.dirname(vim.fs.dirname(vim.fs.dirname(
  vim.fs.normalize(vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p')))))

--- The directory the server runs in: one the workspace does not control (the server finds
--- the project from the workspace folders it is given, not from its cwd).
---@return string
function M.server_cwd()
  return plugin_root
end

--- The `vim.lsp.Config` fields that follow from the current options.
---@return vim.lsp.Config
function M.lsp_config()
  local o = M.options
  local settings = json_objects(o.settings)
  return {
    cmd = M.server_cmd(o),
    cmd_cwd = M.server_cwd(),
    cmd_env = o.cmd_env and vim.deepcopy(o.cmd_env) or nil,
    filetypes = vim.deepcopy(o.filetypes),
    root_markers = vim.deepcopy(o.root_markers),
    settings = { aurelis = settings },
    -- The same object the VS Code extension sends: the bare `aurelis` section.
    init_options = settings,
  }
end

return M
