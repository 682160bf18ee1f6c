"""``tui-agent serve``: the console in browser tabs for the team, behind agent logins."""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from pathlib import Path

import click

from tui_agent.cli.common import DATE, UserError, db_option, default_agent, effective_db_path


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8420, show_default=True)
@click.option(
    "--certfile",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="TLS certificate (PEM) to serve HTTPS yourself; or put a reverse proxy in front.",
)
@click.option(
    "--keyfile",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The certificate's private key (PEM).",
)
@click.option("--today", type=DATE, default=None, help="Consoles pretend today is DATE (demos).")
@db_option
def serve(
    host: str,
    port: int,
    certfile: Path | None,
    keyfile: Path | None,
    today: date | None,
    db_path: Path | None,
) -> None:
    """Serve the console to browsers: a login page, then one console process per tab.

    Agents log in with the logins of `tui-agent agents`. Without any login, only a loopback
    address is allowed (the console then opens as your own agent name, no login page).
    Browsers copy to the clipboard only on a secure page: HTTPS (--certfile/--keyfile or a
    reverse proxy) or localhost.
    """
    from tui_agent.config import ConfigError, load_config

    try:
        from tui_agent.serve.server import (
            ConsoleServer,
            ServeConfig,
            is_loopback,
            run,
            ssl_context,
        )
    except ImportError as exc:
        raise UserError(
            f"tui-agent serve needs the 'serve' extra ({exc.name} is missing): "
            "pip install 'tui-agent[serve]'"
        ) from None
    from tui_agent.store.agents import authenticate, get_agent, has_logins, release_claims
    from tui_agent.store.db import DatabaseError, connect

    if (certfile is None) != (keyfile is None):
        raise click.UsageError("--certfile and --keyfile go together")
    path = effective_db_path(db_path)
    try:
        config = load_config()
        db = connect(path, create=False)
    except (ConfigError, DatabaseError) as exc:
        raise UserError(str(exc)) from None
    try:
        logins = has_logins(db)
    finally:
        db.conn.close()
    if not logins and not is_loopback(host):
        raise UserError(
            f"refusing to listen on {host}: no agent logins in {path}; add one with "
            "`tui-agent agents add NAME` (or serve on 127.0.0.1 for yourself alone)"
        )
    try:
        ssl_ctx = ssl_context(certfile, keyfile) if certfile and keyfile else None
    except (OSError, ValueError) as exc:
        raise UserError(f"{certfile}: cannot load the certificate and key: {exc}") from None

    def check_login(name: str, password: str) -> tuple[str, str | None] | None:
        db = connect(path, create=False)
        try:
            agent = authenticate(db, name, password)
        finally:
            db.conn.close()
        return None if agent is None else (agent.name, agent.display_name)

    def is_enabled(name: str) -> bool:
        db = connect(path, create=False)
        try:
            agent = get_agent(db, name)
        finally:
            db.conn.close()
        return agent is not None and not agent.disabled

    def release(name: str) -> int:
        db = connect(path, create=False)
        try:
            return release_claims(db, name)
        finally:
            db.conn.close()

    shop = config.shop_name or path.stem
    server = ConsoleServer(
        ServeConfig(
            db_path=path.resolve(),
            shop=shop,
            logins=logins,
            local_agent=config.agent or default_agent(),
            today=today,
        ),
        authenticate=check_login,
        is_enabled=is_enabled,
        release=release,
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")

    def ready(url: str) -> None:
        click.echo(f"tui-agent serve: {shop} on {url} (Ctrl+C to stop)", err=False)
        if not logins:
            click.echo(
                f"no agent logins: the console opens as {server.config.local_agent} for anyone "
                "who can reach this address on this host",
                err=True,
            )
        if ssl_ctx is None and not is_loopback(host):
            click.echo(
                "plain HTTP on a network address: put HTTPS in front (README, 'For a team'); "
                "browsers refuse the clipboard and passwords travel in clear text without it",
                err=True,
            )

    try:
        asyncio.run(run(server, host, port, ssl_ctx=ssl_ctx, ready=ready))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
