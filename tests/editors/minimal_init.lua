-- Minimal init for the Neovim plugin tests (and for trying the plugin by hand):
--   NVIM_TEST_LSP_CMD='["python3", "-P", "-m", "aurelis", "serve"]' PYTHONPATH=server \
--     nvim -u tests/editors/minimal_init.lua
-- Loads editors/neovim from this checkout and nothing else.
local here = vim.fs.dirname(vim.fs.normalize(debug.getinfo(1, 'S').source:sub(2)))
local repo = vim.fs.dirname(vim.fs.dirname(here))

vim.opt.runtimepath = { vim.env.VIMRUNTIME, repo .. '/editors/neovim' }
vim.opt.packpath = { vim.env.VIMRUNTIME }
vim.o.swapfile = false
vim.o.shadafile = 'NONE'
vim.o.more = false

local cmd = vim.env.NVIM_TEST_LSP_CMD and vim.json.decode(vim.env.NVIM_TEST_LSP_CMD)
  or { 'aurelis', 'serve' }

local opts = {
  cmd = cmd,
  -- Short, so the tests spend little time waiting; the debounce logic is the same.
  inline = { debounce_ms = 50 },
  float = { enter = false },
}
if vim.env.NVIM_TEST_VIA_GLOBAL == '1' then
  -- As a plain runtimepath install without a setup() call: plugin/aurelis.lua does it.
  vim.g.aurelis = opts
else
  require('aurelis').setup(opts)
end
