-- Neovim (0.7+) as an independent LSP client: opens a seed ruleset, waits for diagnostics, asks for
-- hover, definition, references and rename, and writes what the server answered as JSON to $NFLENS_OUT.
-- The assertions live in neovim.test.ts. Any Lua error exits with status 1 (cq).
local server = os.getenv('NFLENS_SERVER')
local file = os.getenv('NFLENS_FILE')
local out = os.getenv('NFLENS_OUT')

local function run()
  local result = { diagnostics = nil }
  vim.cmd('edit ' .. vim.fn.fnameescape(file))
  local buf = vim.api.nvim_get_current_buf()
  local id = vim.lsp.start_client({
    name = 'netfilter-lens',
    cmd = { 'node', server, '--stdio' },
    root_dir = vim.fn.fnamemodify(file, ':h'),
    init_options = { diagnosticsDelay = 0 },
    handlers = {
      ['textDocument/publishDiagnostics'] = function(_, params)
        if params.uri == vim.uri_from_bufnr(buf) then result.diagnostics = params.diagnostics end
      end,
    },
  })
  assert(id, 'start_client failed')
  vim.lsp.buf_attach_client(buf, id)
  assert(vim.wait(10000, function() return result.diagnostics ~= nil end, 20), 'no diagnostics within 10 s')

  local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
  local function pos(needle, offset)
    for i, l in ipairs(lines) do
      local s = string.find(l, needle, 1, true)
      if s then return { line = i - 1, character = s - 1 + offset } end
    end
    error('not found: ' .. needle)
  end
  local uri = vim.uri_from_bufnr(buf)
  local function req(method, params)
    local t = vim.loop.hrtime()
    local res, err = vim.lsp.buf_request_sync(buf, method, params, 5000)
    assert(res, 'no answer to ' .. method .. ': ' .. tostring(err))
    local r = res[id]
    assert(r and not r.err, method .. ' failed: ' .. vim.inspect(r and r.err))
    return r.result, (vim.loop.hrtime() - t) / 1e6
  end
  local td = { uri = uri }
  result.hover_xmark, result.hover_ms = req('textDocument/hover', { textDocument = td, position = pos('--set-xmark 0x200/0x200', 3) })
  result.hover_overwrite = req('textDocument/hover', { textDocument = td, position = pos('--set-xmark 0x220/0xffffffff', 14) })
  result.definition, result.definition_ms = req('textDocument/definition', { textDocument = td, position = pos('-j ztunnel-FORWARD', 5) })
  result.references = req('textDocument/references', { textDocument = td, position = pos('-j ztunnel-FORWARD', 5), context = { includeDeclaration = true } })
  result.rename = req('textDocument/rename', { textDocument = td, position = pos('-j ztunnel-FORWARD', 5), newName = 'zt-FWD' })
  result.symbols = req('textDocument/documentSymbol', { textDocument = td })
  vim.fn.writefile({ vim.fn.json_encode(result) }, out)
end

local ok, err = pcall(run)
if not ok then
  io.stderr:write('neovim scenario failed: ' .. tostring(err) .. '\n')
  vim.cmd('cq')
end
vim.cmd('qa!')
