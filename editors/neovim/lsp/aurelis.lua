--- The Aurelis language server for `vim.lsp.config` / `vim.lsp.enable` (Neovim 0.11+).
---
--- `require('aurelis').setup(opts)` (or `vim.g.aurelis`) layers the user's `cmd`, `filetypes`,
--- `root_markers` and `settings` over this with `vim.lsp.config('aurelis', ...)`.
local aurelis_lsp = require('aurelis.lsp')

return aurelis_lsp.base_config()
