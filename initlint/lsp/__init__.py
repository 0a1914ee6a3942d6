"""``initlint server``: a Language Server Protocol server (pygls, the ``initlint[lsp]`` extra).

Diagnostics on open, change and save; quick fixes from the safe and unsafe fixes (and a
``# noqa`` action); hover on a diagnostic shows its rule's catalog page. Each document is
linted with the settings of the nearest config above it, as on the command line.
``convert.py`` maps findings to LSP types (UTF-16 columns); ``server.py`` holds the handlers.
"""
