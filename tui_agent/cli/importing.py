"""``tui-agent import customers|orders|products FILE.csv``."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from tui_agent.cli.common import UserError, db_option, effective_db_path, open_database
from tui_agent.core.csvrows import (
    BadRowsError,
    CsvFileError,
    ImportResult,
    Kind,
    field_names,
    parse_mapping_items,
    parse_mapping_text,
)
from tui_agent.core.formats import FORMATS
from tui_agent.store.db import describe_error

_EPILOG = {
    Kind.CUSTOMERS: "Columns: {cols} (only customer_id required).",
    Kind.ORDERS: "One row per order line. Columns: {cols} (order_id, customer_id, ordered_at "
    "and amount required; amount is the line total).",
    Kind.PRODUCTS: "Columns: {cols} (sku and name required; cycle_days is the repurchase "
    "cycle in days).",
}


@click.group("import")
def import_group() -> None:
    """Import the shop's customers, orders or products from a CSV export.

    Dates are YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS] (order times may end in a UTC offset). Files
    may be UTF-8 (with or without BOM), GBK or UTF-16, separated by commas, tabs or semicolons;
    control characters in cells are stored made visible (ESC as ␛). Orders: a platform's own
    export (Shopify, Taobao, JD, Douyin, WooCommerce) is read as it comes, see `import orders
    --help`. By default any bad row aborts the import and nothing is written; re-importing the
    same file changes nothing.
    """


def _options(fn: Callable[..., Any]) -> Callable[..., Any]:
    decorators = [
        click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
        click.option(
            "--map",
            "maps",
            multiple=True,
            metavar="CSV_COL=FIELD",
            help="Read FIELD from the CSV column CSV_COL (repeatable; beats --map-file).",
        ),
        click.option(
            "--map-file",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help='Column mapping file: TOML ("客户ID" = "customer_id") or CSV_COL=FIELD lines.',
        ),
        click.option(
            "--skip-bad",
            is_flag=True,
            help="Import the good rows; write the bad ones to the reject file.",
        ),
        click.option(
            "--rejects",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Reject file for --skip-bad (default: NAME.rejects.csv next to FILE).",
        ),
        click.option(
            "--encoding",
            default="auto",
            show_default=True,
            help="File encoding: auto (a BOM's UTF-8 or UTF-16, else UTF-8 or GBK, whichever reads "
            "as plausible text; asks when unsure), utf-8, gbk, utf-16, ...",
        ),
        click.option(
            "--delimiter",
            default=None,
            metavar="CHAR",
            help="Cell separator: one character, 'tab' or '\\t' (default: sniffed from the "
            "header: comma, tab or semicolon).",
        ),
        click.option(
            "--max-amount",
            metavar="N",
            type=click.FloatRange(min=0, min_open=True, max=1e15),
            default=None,
            help="Largest amount of one order line; above it the row is bad (default: "
            "[import] max_line_amount in config.toml, else 1000000).",
        ),
        db_option,
    ]
    # click lists options in decorator order, so apply them bottom-up.
    for decorate in reversed(decorators):
        fn = decorate(fn)
    return fn


def _command(kind: Kind) -> click.Command:
    def run(
        file: Path,
        maps: tuple[str, ...],
        map_file: Path | None,
        skip_bad: bool,
        rejects: Path | None,
        encoding: str,
        delimiter: str | None,
        max_amount: float | None,
        db_path: Path | None,
    ) -> None:
        mapping = _mapping(maps, map_file)
        delimiter = _delimiter(delimiter)
        max_amount = _max_amount(max_amount)
        db = open_database(db_path, create=True, check=True)
        from tui_agent.store import importer

        fn = {
            Kind.CUSTOMERS: importer.import_customers,
            Kind.ORDERS: importer.import_orders,
            Kind.PRODUCTS: importer.import_products,
        }[kind]
        _warn_merge_time(file)
        with _import_errors(db, db_path, file), _progress(file) as progress:
            result = fn(
                db,
                file,
                mapping=mapping or None,
                skip_bad=skip_bad,
                rejects=rejects,
                encoding=encoding,
                progress=progress,
                max_amount=max_amount,
                delimiter=delimiter,
            )
        _report(result, file)

    cols = ",".join(field_names(kind))
    run.__doc__ = (
        f"Import {kind.value} from FILE (CSV).\n\n{_EPILOG[kind].format(cols=cols)} "
        "Use --map for other column names."
    )
    if kind is Kind.ORDERS:
        return _orders_command(run)
    return click.command(kind.value)(_options(run))


def _delimiter(given: str | None) -> str | None:
    if given is None:
        return None
    given = {"tab": "\t", "\\t": "\t"}.get(given.lower(), given)
    if len(given) != 1 or given in '"\r\n':
        raise click.BadParameter(f"{given!r}: give one character, or tab", param_hint="--delimiter")
    return given


def _max_amount(given: float | None) -> float | None:
    if given is not None:
        return given
    from tui_agent.config import ConfigError, load_config

    try:
        return load_config().max_line_amount
    except ConfigError as exc:
        raise UserError(str(exc)) from None


# Measured (python -m benchmarks.import_stall --lines 300000): re-importing a 33 MB orders
# file held agents' writes for 3.6 s at most (8.3 s before the checks moved out of the
# lock and the customers' figures became one UPDATE), on the shared 2-core build box.
MERGE_SECONDS_PER_MB = 0.11
MERGE_WARN_SECONDS = 3


def _warn_merge_time(file: Path) -> None:
    """Say at the start when the final merge will hold agents' writes for seconds: the file
    is read and checked without the lock, but the merge is one transaction (all or
    nothing), and touches logged meanwhile wait for it."""
    try:
        size_mb = file.stat().st_size / 1e6
    except OSError:
        return
    seconds = size_mb * MERGE_SECONDS_PER_MB
    if seconds >= MERGE_WARN_SECONDS:
        click.echo(
            f"note: {file.name} is big: its final merge will hold the database for about "
            f"{seconds:.0f} s; agents' touches wait for it and none is lost",
            err=True,
        )


def _orders_command(run: Callable[..., None]) -> click.Command:
    """``import orders``: the canonical CSV or a platform's own export (cli help says which)."""

    def orders(
        file: Path,
        second: Path | None,
        lines: Path | None,
        fmt: str | None,
        maps: tuple[str, ...],
        map_file: Path | None,
        **kw: Any,
    ) -> None:
        files = [f for f in (file, second or lines) if f is not None]
        if second is not None and lines is not None:
            raise click.UsageError("give the 宝贝报表 either as the second FILE or with --lines")
        if maps or map_file:
            if len(files) > 1 or fmt not in (None, "canonical"):
                raise click.UsageError("--map is for the canonical format only")
            fmt = "canonical"
        _import_platform(files, fmt, _mapping(maps, map_file), **kw)

    orders.__doc__ = (
        (run.__doc__ or "")
        + " status is paid (the default), cancelled, unpaid, refunded or partially_refunded; "
        "refunded is the amount refunded on the order."
        "\n\nA shop platform's own export is read as it comes: --format shopify, taobao, jd, "
        "douyin or woocommerce, or recognised from the header row when --format is left out. "
        "Taobao/Tmall: FILE is the 订单报表, its 宝贝报表 given with --lines (or as a second "
        "FILE). Times with a UTC offset (any format) are converted to the shop's time zone (config "
        "[shop] timezone, default the machine's). Cancelled, unpaid and refunded orders are kept "
        "out of every figure; a partial refund reduces the order's amount."
    )
    decorated = _options(orders)
    decorated = click.argument(
        "second",
        required=False,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
    )(decorated)
    # click reverses the collected parameters: FILE must be collected last to come first.
    params = decorated.__click_params__  # type: ignore[attr-defined]
    params.sort(key=lambda p: 1 if getattr(p, "name", "") == "file" else 0)
    decorated = click.option(
        "--lines",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Taobao/Tmall: the 宝贝报表 (one row per item) joined to the 订单报表 FILE.",
    )(decorated)
    decorated = click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default=None,
        help="The export's platform (default: recognised from the header row).",
    )(decorated)
    return click.command("orders")(decorated)


def _import_platform(
    files: list[Path],
    fmt: str | None,
    mapping: dict[str, str],
    skip_bad: bool,
    rejects: Path | None,
    encoding: str,
    delimiter: str | None,
    max_amount: float | None,
    db_path: Path | None,
) -> None:
    from tui_agent.config import ConfigError, load_config
    from tui_agent.core.formats import zone
    from tui_agent.store.platform_orders import SideFileError, import_platform_orders

    try:
        tz = zone(load_config().timezone)
    except (ConfigError, ValueError) as exc:
        raise UserError(str(exc)) from None
    delimiter = _delimiter(delimiter)
    max_amount = _max_amount(max_amount)
    db = open_database(db_path, create=True, check=True)
    _warn_merge_time(files[0])
    with _import_errors(db, db_path, files[0]), _progress(files[0]) as progress:
        try:
            done = import_platform_orders(
                db,
                files,
                fmt=fmt,
                shop_tz=tz,
                mapping=mapping or None,
                skip_bad=skip_bad,
                rejects=rejects,
                encoding=encoding,
                progress=progress,
                max_amount=max_amount,
                delimiter=delimiter,
            )
        except SideFileError as exc:
            raise UserError(exc.error.format(exc.path)) from None
    if done.preset is not None:
        click.echo(f"read as a {done.preset.title}", err=True)
    _report(done.result, done.path)


@contextmanager
def _import_errors(db: Any, db_path: Path | None, file: Path) -> Iterator[None]:
    """One line and exit 1 for a bad file, a database error or bad rows (nothing imported);
    the database is closed in every case."""
    try:
        yield
    except CsvFileError as exc:
        raise UserError(exc.format(file)) from None
    except (sqlite3.Error, OSError) as exc:
        line = describe_error(effective_db_path(db_path), exc, "nothing was imported")
        if line is None:
            raise
        raise UserError(line) from None
    except BadRowsError as exc:
        path = exc.result.path
        _print_errors(exc.result, path)
        raise UserError(
            f"{path}: {exc.result.rejected} bad rows, nothing imported "
            "(fix them, or use --skip-bad to import the good rows)"
        ) from None
    finally:
        db.close()


def _report(result: ImportResult, path: Path) -> None:
    if result.ignored_columns:
        click.echo(f"note: ignored columns: {', '.join(result.ignored_columns)}", err=True)
    if result.rejected:
        _print_errors(result, path)
        click.echo(f"{result.rejected} bad rows written to {result.rejects_path}", err=True)
    click.echo(result.summary())


def _mapping(maps: tuple[str, ...], map_file: Path | None) -> dict[str, str]:
    mapping: dict[str, str] = {}
    if map_file is not None:
        try:
            text = map_file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"{map_file}: cannot read mapping file ({exc})") from None
        try:
            mapping.update(parse_mapping_text(text))
        except ValueError as exc:
            raise UserError(f"{map_file}: {exc}") from None
    try:
        mapping.update(parse_mapping_items(maps))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--map") from None
    return mapping


def _print_errors(result: ImportResult, file: Path) -> None:
    for error in result.errors:
        click.echo(error.format(file), err=True)
    more = result.error_count - len(result.errors)
    if more > 0:
        click.echo(f"... and {more} more errors", err=True)


@contextmanager
def _progress(file: Path) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar by bytes read, on stderr, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    with Progress(
        f"importing {file.name}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("import", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


for _kind in Kind:
    import_group.add_command(_command(_kind))
