"""``tui-agent serve``: the console in browser tabs, behind agent logins (aiohttp and
textual-serve's process bridge). Nothing here is imported unless ``serve`` runs."""
