-- luacheck editors/neovim tests/editors  (Debian/Ubuntu: apt install lua-check)
std = 'luajit'
globals = { 'vim' }
max_line_length = 100
