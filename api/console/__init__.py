"""The finance console: server-rendered pages for the finance team, served by the API's own app.

Sign-in with a finance or admin API key opens a server-side console session (``sessions``);
pages read the store through ``queries`` and ``registry``; forms are parsed in ``forms`` and
decided by the same service functions as the HTTP API (``api.credit_lines.service``), so a
review or a line change in the console is the same audited decision. Everything a page needs
ships with the package (templates and CSS here, the inline SVG charts and their CSS in
:mod:`credit.charts`): no CDN, no external fonts or scripts.
:func:`api.console.routes.mount_console` adds it to an app.

This module imports nothing: :mod:`credit.store` imports :mod:`api.console.tables` to register
the sessions table, which must not pull FastAPI into every program that opens a store.
"""
