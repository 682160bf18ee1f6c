"""The HTML of the served console: login page, console page, short notices. Every value is
escaped; scripts and styles come from this host's ``/assets`` and ``/static`` only."""

from __future__ import annotations

from html import escape

CLIPBOARD_NOTE = (
    "Copying to your clipboard needs a secure page: HTTPS, or localhost on this computer. "
    "Otherwise select the text in the preview (hold Shift while dragging) and copy it by hand."
)


def _page(title: str, body: str, *, body_class: str = "") -> str:
    return f"""<!DOCTYPE html>
<html lang="zh">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<link rel="stylesheet" href="/static/css/xterm.css">
<link rel="stylesheet" href="/assets/serve.css">
</head>
<body class="{body_class}">
{body}
</body>
</html>
"""


def login_page(shop: str, *, error: str | None = None, name: str = "") -> str:
    notice = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    body = f"""<main class="login">
<h1>{escape(shop)}</h1>
<p class="sub">tui-agent · 客服工作台</p>
{notice}
<form method="post" action="/login">
<label>登录名 login <input name="name" autocomplete="username" value="{escape(name)}"
 autofocus required maxlength="32"></label>
<label>密码 password <input name="password" type="password" autocomplete="current-password"
 required maxlength="200"></label>
<button type="submit">登录 Log in</button>
</form>
<p class="note">{escape(CLIPBOARD_NOTE)}</p>
</main>"""
    return _page(f"{shop} · tui-agent", body, body_class="plain")


def _logout_form() -> str:
    return (
        '<form method="post" action="/logout" class="logout">'
        '<button type="submit" id="logout">退出 Log out</button></form>'
    )


def console_page(shop: str, agent: str, shown_name: str, *, font_size: int = 16) -> str:
    who = agent if shown_name == agent else f"{shown_name} ({agent})"
    body = f"""<header id="bar">
<span class="shop">{escape(shop)}</span>
<span class="agent" id="agent">{escape(who)}</span>
<span class="clip" id="clip" title="{escape(CLIPBOARD_NOTE)}"></span>
{_logout_form()}
</header>
<div id="intro" class="intro">正在打开工作台 Opening the console…</div>
<div id="closed" class="closed">
<p id="closed-why">工作台已关闭 The console has ended.</p>
<p><a href="/">重新打开 Open it again</a></p>
</div>
<div id="terminal" class="textual-terminal" data-font-size="{int(font_size)}"></div>
<script src="/assets/serve.js"></script>
<script src="/static/js/textual.js"></script>"""
    return _page(f"{shop} · {shown_name} · tui-agent", body)
