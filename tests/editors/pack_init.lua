-- Init for the package-install test: Neovim's own runtime plus one 'packpath' that holds the
-- plugin as pack/x/start/aurelis. No setup() call and no vim.g.aurelis: what a user who
-- copies the plugin into a package directory gets.
vim.opt.runtimepath = { vim.env.VIMRUNTIME }
vim.opt.packpath = { assert(vim.env.NVIM_TEST_PACKPATH, 'NVIM_TEST_PACKPATH not set') }
vim.o.swapfile = false
vim.o.shadafile = 'NONE'
vim.o.more = false
-- netrw lives in an opt package of the runtime, which this packpath leaves out.
vim.g.loaded_netrwPlugin = 1

if vim.env.NVIM_TEST_FILETYPE_WAIT == '1' then
  -- Another plugin's FileType hook that lets the event loop run (vim.wait, or waiting for a
  -- process it started). The plugin's setup, scheduled from plugin/aurelis.lua, then runs
  -- after the startup file was loaded but before VimEnter.
  vim.api.nvim_create_autocmd('FileType', {
    pattern = 'python',
    callback = function()
      vim.wait(100)
    end,
  })
end
