--- The floating window that shows explain/analyze results as markdown.
local config = require('aurelis.config')

local M = {}

--- The window currently showing a result (one at a time: a new result replaces it).
---@type integer?
M.win = nil

--- Close the result window if it is open.
function M.close()
  local win = M.win
  M.win = nil
  if win and vim.api.nvim_win_is_valid(win) then
    vim.api.nvim_win_close(win, true)
  end
end

--- Width of the longest line, in screen cells.
---@param lines string[]
---@return integer
local function widest(lines)
  local width = 0
  for _, line in ipairs(lines) do
    width = math.max(width, vim.fn.strdisplaywidth(line))
  end
  return width
end

--- Show `markdown` in a centred floating window titled `title`.
---@param markdown string
---@param title? string
---@return integer win
---@return integer buf
function M.show_markdown(markdown, title)
  M.close()
  local opts = config.options.float
  local lines = vim.split(markdown, '\n', { plain = true })
  -- A trailing newline would leave an empty last line in the window.
  while #lines > 1 and lines[#lines] == '' do
    lines[#lines] = nil
  end

  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  -- nofile before the filetype: vim.lsp.enable never attaches servers to such buffers.
  vim.bo[buf].buftype = 'nofile'
  vim.bo[buf].bufhidden = 'wipe'
  vim.bo[buf].swapfile = false
  vim.bo[buf].filetype = 'markdown'
  vim.bo[buf].modifiable = false

  local columns, rows = vim.o.columns, vim.o.lines - vim.o.cmdheight
  local width = math.max(20, math.min(widest(lines) + 2, opts.max_width, columns - 4))
  local max_height = math.max(3, math.floor(rows * opts.max_height))
  -- Lines longer than the window wrap; count the screen rows they take.
  local height = 0
  for _, line in ipairs(lines) do
    height = height + math.max(1, math.ceil(vim.fn.strdisplaywidth(line) / width))
  end
  height = math.max(1, math.min(height, max_height))

  -- Neovim refuses a title on a window without a border.
  local titled = title and opts.border ~= 'none' and opts.border ~= ''
  local win = vim.api.nvim_open_win(buf, opts.enter, {
    relative = 'editor',
    width = width,
    height = height,
    row = math.max(0, math.floor((rows - height) / 2) - 1),
    col = math.max(0, math.floor((columns - width) / 2)),
    style = 'minimal',
    border = opts.border,
    title = titled and (' ' .. title .. ' ') or nil,
    title_pos = titled and 'center' or nil,
  })
  vim.wo[win].wrap = true
  vim.wo[win].linebreak = true
  vim.wo[win].conceallevel = 2
  vim.wo[win].concealcursor = 'n'
  M.win = win

  for _, key in ipairs({ 'q', '<Esc>' }) do
    vim.keymap.set('n', key, M.close, { buffer = buf, nowait = true, desc = 'Close the result' })
  end
  -- A window left behind when the user moves on would be clutter: close it when the user
  -- leaves it or, if it never took the cursor, moves in the buffer they were in.
  local close_if_current = function()
    vim.schedule(function()
      if M.win == win then
        M.close()
      end
    end)
    return true -- delete the autocmd
  end
  if opts.enter then
    vim.api.nvim_create_autocmd('WinLeave', { buffer = buf, callback = close_if_current })
  else
    vim.api.nvim_create_autocmd({ 'CursorMoved', 'CursorMovedI', 'BufLeave' }, {
      buffer = vim.api.nvim_get_current_buf(),
      callback = close_if_current,
    })
  end
  return win, buf
end

return M
