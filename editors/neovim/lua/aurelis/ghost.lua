--- Inline completion as ghost text, for Neovim 0.11 (which has no vim.lsp.inline_completion).
---
--- In insert mode, typing or moving the cursor schedules a `textDocument/inlineCompletion`
--- request after a debounce; a newer request cancels the older one ($/cancelRequest). The
--- suggestion is drawn with one extmark: inline virtual text for the rest of the current line
--- and virtual lines for the lines below. Typing characters the suggestion predicted keeps it
--- on screen without asking the server again.
local config = require('aurelis.config')
local util = require('aurelis.util')

local M = {}

local ns = vim.api.nvim_create_namespace('aurelis.ghost')
local METHOD = 'textDocument/inlineCompletion'
local TRIGGER_INVOKED, TRIGGER_AUTOMATIC = 1, 2
local REQUEST_CANCELLED = -32800
-- The same inline error is shown at most once per this many ms (typing would repeat it).
local ERROR_QUIET_MS = 30000

---@class aurelis.ghost.Item
---@field text string what the suggestion inserts (a snippet's placeholders as plain text)
---@field snippet? string the snippet body, when the server sent one
---@field range [integer, integer, integer, integer] 0-based byte range it replaces
---@field command? lsp.Command

---@class aurelis.ghost.State
---@field bufnr integer
---@field client_id integer
---@field augroup integer
---@field timer? uv.uv_timer_t
---@field request? { id: integer, client_id: integer }
---@field items aurelis.ghost.Item[]
---@field index integer
---@field extmark? integer
---@field seen? string tick:row:col last handled, so one keystroke is handled once
---@field quiet_tick? integer changedtick at which the user dismissed

---@type table<integer, aurelis.ghost.State>
M.states = {}

local last_error = { message = nil, at = 0 }

--- Cursor of the window showing `bufnr` as a 0-based (row, byte col).
local function cursor(bufnr)
  local win = vim.api.nvim_get_current_win()
  if vim.api.nvim_win_get_buf(win) ~= bufnr then
    win = vim.fn.bufwinid(bufnr)
    if win == -1 then
      return nil, nil, nil
    end
  end
  local pos = vim.api.nvim_win_get_cursor(win)
  return pos[1] - 1, pos[2], win
end

local function in_insert_mode()
  return vim.api.nvim_get_mode().mode:sub(1, 1) == 'i'
end

local function enabled(bufnr)
  return config.options.inline.enabled and vim.b[bufnr].aurelis_inline ~= false
end

local function stop_timer(state)
  local timer = state.timer
  state.timer = nil
  if timer and not timer:is_closing() then
    timer:stop()
    timer:close()
  end
end

local function cancel_request(state)
  local request = state.request
  state.request = nil
  if request then
    local client = vim.lsp.get_client_by_id(request.client_id)
    if client then
      client:cancel_request(request.id)
    end
  end
end

local function hide(state)
  if state.extmark then
    pcall(vim.api.nvim_buf_del_extmark, state.bufnr, ns, state.extmark)
    state.extmark = nil
  end
end

--- Forget the suggestion and any pending work for it.
local function clear(state)
  stop_timer(state)
  cancel_request(state)
  hide(state)
  state.items = {}
  state.index = 1
end

--- The part of `item` still to be inserted with the cursor at (row, col), or nil when the
--- text typed since the request does not match the suggestion.
---@param state aurelis.ghost.State
---@param item aurelis.ghost.Item
---@param row integer
---@param col integer
---@return string?
local function remaining_text(state, item, row, col)
  local srow, scol = item.range[1], item.range[2]
  if srow ~= row or scol > col then
    return nil
  end
  local typed = util.line(state.bufnr, row):sub(scol + 1, col)
  if item.text:sub(1, #typed) ~= typed then
    return nil
  end
  local rest = item.text:sub(#typed + 1)
  return rest ~= '' and rest or nil
end

--- Draw the current item at the cursor; returns whether something is shown.
---@param state aurelis.ghost.State
---@return boolean
local function render(state)
  hide(state)
  local item = state.items[state.index]
  local row, col = cursor(state.bufnr)
  if not item or not row or not in_insert_mode() then
    return false
  end
  local rest = remaining_text(state, item, row, col)
  if not rest then
    return false
  end
  local hl = config.options.inline.hl_group
  local tab = string.rep(' ', vim.bo[state.bufnr].tabstop)
  local lines = vim.split((rest:gsub('\t', tab)), '\n', { plain = true })
  local counter = #state.items > 1 and (' (%d/%d)'):format(state.index, #state.items) or nil
  local virt_lines = {}
  for i = 2, #lines do
    virt_lines[#virt_lines + 1] = { { lines[i], hl } }
  end
  if counter then
    local last = #virt_lines > 0 and virt_lines[#virt_lines] or nil
    if last then
      last[#last + 1] = { counter, 'NonText' }
    end
  end
  local first = { { lines[1], hl } }
  if counter and #virt_lines == 0 then
    first[#first + 1] = { counter, 'NonText' }
  end
  state.extmark = vim.api.nvim_buf_set_extmark(state.bufnr, ns, row, col, {
    virt_text = first,
    virt_text_pos = 'inline',
    virt_lines = #virt_lines > 0 and virt_lines or nil,
    hl_mode = 'combine',
    priority = 1000,
  })
  require('aurelis.outcomes').shown(state.client_id, item)
  return true
end

--- What a snippet looks like once expanded with its defaults: placeholders become their
--- default text (a choice its first option), tabstops vanish.
---@param body string
---@return string
local function snippet_text(body)
  -- Escaped "$" and "}" are literal text: park them where no pattern below can see them.
  local text = body:gsub('\\%$', '\1'):gsub('\\}', '\2')
  local previous
  repeat -- innermost placeholders first, so nested ones unwrap too
    previous = text
    text = text:gsub('%${%d+:([^{}]*)}', '%1')
  until text == previous
  text = text:gsub('%${%d+|([^,|]*)[^}]*}', '%1'):gsub('%${%d+}', ''):gsub('%$%d+', '')
  return (text:gsub('\1', '$'):gsub('\2', '}'))
end

--- Turn a server item into byte positions of the buffer as it is now.
---@param bufnr integer
---@param raw lsp.InlineCompletionItem
---@param encoding string
---@param at [integer, integer] cursor at request time (0-based row, byte col)
---@return aurelis.ghost.Item?
local function normalize(bufnr, raw, encoding, at)
  if type(raw) ~= 'table' then
    return nil
  end
  local text, snippet = raw.insertText, nil
  if type(text) == 'table' and text.kind == 'snippet' and type(text.value) == 'string' then
    snippet = text.value
    text = snippet_text(snippet)
  end
  if type(text) ~= 'string' or text == '' then
    return nil
  end
  local range = { at[1], at[2], at[1], at[2] }
  if type(raw.range) == 'table' and raw.range.start and raw.range['end'] then
    local s, e = raw.range.start, raw.range['end']
    range = {
      s.line,
      util.byte_col(util.line(bufnr, s.line), s.character, encoding),
      e.line,
      util.byte_col(util.line(bufnr, e.line), e.character, encoding),
    }
  end
  local command = type(raw.command) == 'table' and raw.command or nil
  return { text = text, snippet = snippet, range = range, command = command }
end

local function report_error(err)
  local message = util.error_message(err)
  local now = vim.uv.now()
  if message == last_error.message and now - last_error.at < ERROR_QUIET_MS then
    return
  end
  last_error.message, last_error.at = message, now
  util.notify('inline completion failed: ' .. message, vim.log.levels.WARN)
end

--- Ask the server for suggestions at the cursor now.
---@param state aurelis.ghost.State
---@param kind integer trigger kind
function M.request(state, kind)
  stop_timer(state)
  cancel_request(state)
  local client = vim.lsp.get_client_by_id(state.client_id)
  local row, col = cursor(state.bufnr)
  if not client or not row or not in_insert_mode() then
    return
  end
  local encoding = client.offset_encoding
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(state.bufnr) },
    position = {
      line = row,
      character = util.character(util.line(state.bufnr, row), col, encoding),
    },
    context = { triggerKind = kind },
  }
  local request
  local ok, id = client:request(METHOD, params, function(err, result)
    if state.request ~= request then
      return -- superseded or cancelled
    end
    state.request = nil
    if err then
      if err.code ~= REQUEST_CANCELLED then
        report_error(err)
      end
      return
    end
    local raw_items = type(result) == 'table' and (result.items or result) or {}
    local items = {}
    for _, raw in ipairs(raw_items) do
      items[#items + 1] = normalize(state.bufnr, raw, encoding, { row, col })
    end
    state.items, state.index = items, 1
    render(state)
  end, state.bufnr)
  if ok and id then
    request = { id = id, client_id = client.id }
    state.request = request
  end
end

--- Schedule a request after the debounce (none when `debounce_ms` is 0).
---@param state aurelis.ghost.State
local function schedule(state)
  stop_timer(state)
  local delay = config.options.inline.debounce_ms
  local timer = vim.uv.new_timer()
  state.timer = timer
  timer:start(delay, 0, vim.schedule_wrap(function()
    if state.timer ~= timer then
      return
    end
    stop_timer(state)
    if vim.api.nvim_buf_is_valid(state.bufnr) and state.quiet_tick == nil then
      M.request(state, TRIGGER_AUTOMATIC)
    end
  end))
end

--- InsertEnter / TextChangedI / CursorMovedI: keep a still-valid suggestion, else ask again.
---@param state aurelis.ghost.State
local function on_edit(state)
  local row, col = cursor(state.bufnr)
  if not row then
    return
  end
  local tick = vim.api.nvim_buf_get_changedtick(state.bufnr)
  local seen = ('%d:%d:%d'):format(tick, row, col)
  if seen == state.seen then
    return -- TextChangedI and CursorMovedI for the same keystroke
  end
  state.seen = seen
  if state.quiet_tick and state.quiet_tick ~= tick then
    state.quiet_tick = nil -- a dismissed suggestion stays away until the text changes
  end
  if not enabled(state.bufnr) or state.quiet_tick then
    clear(state)
    return
  end
  if #state.items > 0 and render(state) then
    return -- the user typed what the suggestion predicted
  end
  clear(state)
  schedule(state)
end

--- The state of `bufnr` if a suggestion is on screen.
---@param bufnr? integer
---@return aurelis.ghost.State?
local function visible(bufnr)
  local state = M.states[util.bufnr(bufnr)]
  if state and state.extmark and state.items[state.index] then
    return state
  end
  return nil
end

--- Whether a suggestion is shown in `bufnr`.
---@param bufnr? integer
---@return boolean
function M.is_visible(bufnr)
  return visible(bufnr) ~= nil
end

--- The text the shown suggestion would insert at the cursor (nil when none is shown).
---@param bufnr? integer
---@return string?
function M.visible_text(bufnr)
  local state = visible(bufnr)
  if not state then
    return nil
  end
  local row, col = cursor(state.bufnr)
  return row and remaining_text(state, state.items[state.index], row, col) or nil
end

--- Insert the shown suggestion; returns false when there is none.
---@param bufnr? integer
---@return boolean
function M.accept(bufnr)
  local state = visible(bufnr)
  if not state then
    return false
  end
  local item = state.items[state.index]
  local row, col, win = cursor(state.bufnr)
  if not row or not remaining_text(state, item, row, col) then
    clear(state)
    return false
  end
  clear(state)
  local srow, scol, erow, ecol = unpack(item.range)
  -- Characters typed since the request are part of the item's text: replace them too.
  if erow < row or (erow == row and ecol < col) then
    erow, ecol = row, col
  end
  if item.snippet then
    vim.api.nvim_buf_set_text(state.bufnr, srow, scol, erow, ecol, {})
    vim.api.nvim_win_set_cursor(win, { srow + 1, scol })
    vim.snippet.expand(item.snippet)
  else
    local lines = vim.split(item.text, '\n', { plain = true })
    vim.api.nvim_buf_set_text(state.bufnr, srow, scol, erow, ecol, lines)
    local end_row = srow + #lines - 1
    local end_col = (#lines == 1 and scol or 0) + #lines[#lines]
    vim.api.nvim_win_set_cursor(win, { end_row + 1, end_col })
  end
  if item.command then
    local client = vim.lsp.get_client_by_id(state.client_id)
    if client then
      client:exec_cmd(item.command, { bufnr = state.bufnr })
    end
  end
  return true
end

--- Show the next (`count` > 0) or previous suggestion; asks the server if none is shown.
---@param count integer
---@param bufnr? integer
function M.cycle(count, bufnr)
  local state = visible(bufnr)
  if not state then
    M.trigger(bufnr)
    return
  end
  local n = #state.items
  state.index = (state.index - 1 + count) % n + 1
  render(state)
end

--- Hide the suggestion until the text changes.
---@param bufnr? integer
function M.dismiss(bufnr)
  local state = M.states[util.bufnr(bufnr)]
  if state then
    clear(state)
    state.quiet_tick = vim.api.nvim_buf_get_changedtick(state.bufnr)
  end
end

--- Ask for a suggestion now (an "invoked" trigger: no debounce).
---@param bufnr? integer
function M.trigger(bufnr)
  local state = M.states[util.bufnr(bufnr)]
  if state and enabled(state.bufnr) then
    state.quiet_tick = nil
    M.request(state, TRIGGER_INVOKED)
  end
end

--- Start ghost text in `bufnr` for `client`.
---@param bufnr integer
---@param client vim.lsp.Client
function M.attach(bufnr, client)
  if M.states[bufnr] then
    M.states[bufnr].client_id = client.id
    return
  end
  local augroup = vim.api.nvim_create_augroup('aurelis.ghost.' .. bufnr, { clear = true })
  ---@type aurelis.ghost.State
  local state = { bufnr = bufnr, client_id = client.id, augroup = augroup, items = {}, index = 1 }
  M.states[bufnr] = state
  vim.api.nvim_create_autocmd({ 'InsertEnter', 'TextChangedI', 'CursorMovedI' }, {
    group = augroup,
    buffer = bufnr,
    callback = function()
      on_edit(state)
    end,
  })
  vim.api.nvim_create_autocmd({ 'InsertLeave', 'BufLeave' }, {
    group = augroup,
    buffer = bufnr,
    callback = function()
      clear(state)
      state.seen, state.quiet_tick = nil, nil
    end,
  })
  vim.api.nvim_create_autocmd('BufUnload', {
    group = augroup,
    buffer = bufnr,
    callback = function()
      M.detach(bufnr)
    end,
  })
end

--- Stop ghost text in `bufnr`.
---@param bufnr integer
function M.detach(bufnr)
  local state = M.states[bufnr]
  if not state then
    return
  end
  M.states[bufnr] = nil
  clear(state)
  pcall(vim.api.nvim_del_augroup_by_id, state.augroup)
end

M.namespace = ns
-- Exposed for the plugin's tests.
M._snippet_text = snippet_text

return M
