"""``tui-agent phrases ...`` (check, list, show, search, add, edit) and ``tui-agent render``."""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from pathlib import Path
from typing import Any

import click

from tui_agent import paths
from tui_agent.cli.common import (
    DATE,
    UserError,
    agent_name,
    db_option,
    echo,
    echo_json,
    effective_db_path,
)
from tui_agent.cli.common import today as cli_today
from tui_agent.core.models import Stage
from tui_agent.core.phrases import (
    LoadResult,
    Phrase,
    PhraseError,
    Variant,
    load_library,
    phrase_from_dict,
    phrase_to_dict,
    upsert_phrase,
)
from tui_agent.core.search import Hit, PhraseUsage, Span, build_index

USER_FILE = "my-phrases.toml"


def phrases_option(fn: Any) -> Any:
    return click.option(
        "--phrases",
        "phrases_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Extra phrase directory, loaded last (also: $TUI_AGENT_PHRASES).",
    )(fn)


def _load(phrases_dir: Path | None, *, quiet: bool = False) -> LoadResult:
    if phrases_dir is not None and not phrases_dir.is_dir():
        raise UserError(f"{phrases_dir}: no such phrase directory")
    result = load_library(paths.phrase_dirs(phrases_dir))
    if result.problems and not quiet:
        click.echo(
            f"warning: {len(result.problems)} problem(s) in the phrase files; "
            "run `tui-agent phrases check`",
            err=True,
        )
    return result


def _usage(db_path: Path | None, agent: str) -> dict[str, PhraseUsage]:
    """The agent's phrase usage, or nothing when there is no database yet."""
    path = effective_db_path(db_path)
    if not path.exists():
        return {}
    from tui_agent.store.db import DatabaseError, connect
    from tui_agent.store.usage import phrase_usage

    try:
        db = connect(path, create=False)
    except DatabaseError as exc:
        raise UserError(str(exc)) from None
    try:
        return phrase_usage(db, agent)
    finally:
        db.close()


def _highlight(text: str, spans: tuple[Span, ...]) -> str:
    out: list[str] = []
    pos = 0
    for start, end in spans:
        out.append(text[pos:start])
        out.append(click.style(text[start:end], bold=True, underline=True))
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _hit_json(hit: Hit) -> dict[str, Any]:
    v = hit.variant
    return {
        "id": hit.phrase.id,
        "language": v.language,
        "title": v.title,
        "body": v.body,
        "stage": hit.phrase.stage.value,
        "tags": list(hit.phrase.tags),
        "shortcut": hit.phrase.shortcut,
        "score": hit.score,
        "tier": hit.tier,
        "title_spans": [list(s) for s in hit.title_spans],
        "body_spans": [list(s) for s in hit.body_spans],
    }


def _phrase_json(p: Phrase, source: Path | None) -> dict[str, Any]:
    data = phrase_to_dict(p)
    data["source"] = str(source) if source else None
    return data


@click.group("phrases")
def phrases_group() -> None:
    """The phrase library: check, list, show, search, add and edit phrases.

    Phrases load from the shipped library, then the user config dir's phrases/, then
    $TUI_AGENT_PHRASES (path list), then --phrases DIR; a later phrase with the same id
    overrides an earlier one.
    """


@phrases_group.command("check")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@phrases_option
def check_cmd(directory: Path | None, phrases_dir: Path | None) -> None:
    """Validate phrase files; print each problem as path:line: reason.

    With DIRECTORY, check only that directory; else every directory the library loads.
    Exit 1 when anything is wrong.
    """
    if directory is not None:
        if not directory.is_dir():
            raise UserError(f"{directory}: no such directory")
        result = load_library([directory])
    else:
        result = _load(phrases_dir, quiet=True)
    for problem in result.problems:
        click.echo(str(problem))
    summary = f"{len(result.library)} phrases in {len(result.files)} files"
    if result.problems:
        raise UserError(f"{summary}: {len(result.problems)} problem(s)")
    click.echo(f"{summary}: ok")


@phrases_group.command("list")
@click.option("--stage", type=click.Choice([s.value for s in Stage]), default=None)
@click.option("--tag", "tags", multiple=True, help="Only phrases with this tag (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@phrases_option
def list_cmd(
    stage: str | None, tags: tuple[str, ...], as_json: bool, phrases_dir: Path | None
) -> None:
    """List the phrases: id, shortcut, stage, languages, title."""
    result = _load(phrases_dir)
    chosen = [
        p
        for p in result.library
        if (stage is None or p.stage.value == stage) and all(t in p.tags for t in tags)
    ]
    if as_json:
        echo_json([_phrase_json(p, result.library.sources.get(p.id)) for p in chosen])
        return
    for p in chosen:
        click.echo(
            f"{p.id:<28} {p.shortcut or '':<6} {p.stage.value:<15} "
            f"{','.join(p.languages):<6} {p.title}"
        )


@phrases_group.command("show")
@click.argument("phrase_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@phrases_option
def show_cmd(phrase_id: str, as_json: bool, phrases_dir: Path | None) -> None:
    """Show one phrase with all its language variants and where it comes from."""
    result = _load(phrases_dir)
    p = result.library.get(phrase_id) or result.library.by_shortcut(phrase_id)
    if p is None:
        raise UserError(f"no phrase {phrase_id!r}")
    source = result.library.sources.get(p.id)
    if as_json:
        echo_json(_phrase_json(p, source))
        return
    click.echo(
        f"{p.id}  stage={p.stage.value}  tags={','.join(p.tags)}  shortcut={p.shortcut or '-'}"
    )
    click.echo(f"source: {source}")
    for v in p.variants:
        click.echo(f"\n[{v.language}] {v.title}\n{v.body}")


@phrases_group.command("search")
@click.argument("query", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (with highlight spans).")
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--language", default=None, help="Prefer this language's variant on ties.")
@click.option("--no-usage", is_flag=True, help="Ignore your usage history in the ranking.")
@db_option
@phrases_option
def search_cmd(
    query: tuple[str, ...],
    as_json: bool,
    limit: int,
    language: str | None,
    no_usage: bool,
    db_path: Path | None,
    phrases_dir: Path | None,
) -> None:
    """Search phrases: Chinese, English, pinyin (bhtx, buhuo), shortcut (/bh), typos.

    Filters inside the query: #tag (prefix), stage:NAME, lang:en. Phrases you used more
    often and more recently rank higher among equal matches (from the touch log; undone
    touches do not count).
    """
    result = _load(phrases_dir)
    usage = {} if no_usage else _usage(db_path, agent_name())
    index = build_index(result.library, paths.cache_dir(), usage=usage)
    hits = index.search(" ".join(query), limit=limit, language=language)
    if as_json:
        echo_json([_hit_json(h) for h in hits])
        return
    if not hits:
        raise UserError("no phrase matches")
    for h in hits:
        v = h.variant
        click.echo(
            f"{h.score:5.1f}  {h.phrase.id:<28} {h.phrase.shortcut or '':<6} [{v.language}] "
            f"{_highlight(v.title, h.title_spans)}"
        )


_SET_RE = re.compile(r"([a-z][a-z0-9_]*)=(.*)\Z", re.DOTALL)


def _refuse_shortcut_clash(result: LoadResult, phrase: Phrase) -> None:
    """A shortcut names one phrase: refuse one that another loaded phrase (shipped or
    yours) already uses, as `phrases check` would report afterwards."""
    if phrase.shortcut is None:
        return
    owner = result.library.by_shortcut(phrase.shortcut)
    if owner is not None and owner.id != phrase.id:
        source = result.library.sources.get(owner.id)
        where = f" ({source})" if source else ""
        raise UserError(
            f"shortcut {phrase.shortcut} is already used by {owner.id!r}{where}; "
            "choose another shortcut"
        )


def _validated(phrase: Phrase) -> Phrase:
    try:
        return phrase_from_dict(phrase_to_dict(phrase))
    except PhraseError as exc:
        raise UserError(str(exc)) from None


def _user_target(file: Path | None, phrases_dir: Path | None) -> Path:
    if file is not None:
        return file
    if phrases_dir is not None:
        return phrases_dir / USER_FILE
    return paths.config_dir() / "phrases" / USER_FILE


def _write(target: Path, phrase: Phrase) -> None:
    try:
        upsert_phrase(target, phrase)
    except PhraseError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"{target}: {exc.strerror or exc}") from None


@phrases_group.command("add")
@click.option("--id", "phrase_id", required=True, help="Stable id, e.g. replenish-tea.")
@click.option("--stage", type=click.Choice([s.value for s in Stage]), required=True)
@click.option("--title", required=True)
@click.option("--body", required=True, help="The template, e.g. '{name|亲}，{product}...'.")
@click.option("--tag", "tags", multiple=True, help="Occasion tag (repeatable).")
@click.option("--shortcut", default=None, help="Shortcut code such as /bh.")
@click.option("--language", default="zh", show_default=True)
@click.option(
    "--file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"TOML file to write (default: {USER_FILE} in --phrases DIR or the user phrase dir).",
)
@phrases_option
def add_cmd(
    phrase_id: str,
    stage: str,
    title: str,
    body: str,
    tags: tuple[str, ...],
    shortcut: str | None,
    language: str,
    file: Path | None,
    phrases_dir: Path | None,
) -> None:
    """Add a new phrase to your own phrase file (other phrases and files are untouched)."""
    result = _load(phrases_dir, quiet=True)
    if phrase_id in result.library:
        raise UserError(
            f"phrase {phrase_id!r} already exists in {result.library.sources[phrase_id]}; "
            "use `tui-agent phrases edit`"
        )
    phrase = _validated(
        Phrase(
            id=phrase_id,
            stage=Stage(stage),
            variants=(Variant(language, title, body),),
            tags=tags,
            shortcut=shortcut,
        )
    )
    _refuse_shortcut_clash(result, phrase)
    target = _user_target(file, phrases_dir)
    _write(target, phrase)
    click.echo(f"added {phrase_id} to {target}")


@phrases_group.command("edit")
@click.argument("phrase_id")
@click.option("--language", default=None, help="Variant to change or add (default: the main one).")
@click.option("--title", default=None)
@click.option("--body", default=None)
@click.option("--stage", type=click.Choice([s.value for s in Stage]), default=None)
@click.option("--tag", "tags", multiple=True, help="Replace the tags (repeatable).")
@click.option("--shortcut", default=None, help="New shortcut; '-' removes it.")
@click.option(
    "--file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="TOML file to write (default: the phrase's own file; a shipped phrase is copied "
    "to your phrase file as an override).",
)
@phrases_option
def edit_cmd(
    phrase_id: str,
    language: str | None,
    title: str | None,
    body: str | None,
    stage: str | None,
    tags: tuple[str, ...],
    shortcut: str | None,
    file: Path | None,
    phrases_dir: Path | None,
) -> None:
    """Change a phrase. The shipped library is never modified: editing a shipped phrase
    writes an override with the same id to your phrase file."""
    result = _load(phrases_dir, quiet=True)
    old = result.library.get(phrase_id)
    if old is None:
        raise UserError(f"no phrase {phrase_id!r}")
    variants = list(old.variants)
    lang = language or old.language
    positions = [i for i, v in enumerate(variants) if v.language == lang]
    if positions:
        i = positions[0]
        variants[i] = Variant(lang, title or variants[i].title, body or variants[i].body)
    elif title and body:
        variants.append(Variant(lang, title, body))
    else:
        raise UserError(f"phrase {phrase_id!r} has no {lang!r} variant: give --title and --body")
    new = _validated(
        dataclasses.replace(
            old,
            variants=tuple(variants),
            stage=Stage(stage) if stage else old.stage,
            tags=tags or old.tags,
            shortcut=None if shortcut == "-" else (shortcut or old.shortcut),
        )
    )
    if new.shortcut != old.shortcut:  # an unchanged shortcut is not this edit's business
        _refuse_shortcut_clash(result, new)
    source = result.library.sources[phrase_id]
    shipped = paths.shipped_phrases_dir().resolve()
    if file is not None:
        target = file
    elif source.resolve().is_relative_to(shipped):
        target = _user_target(None, phrases_dir)
    else:
        target = source
    _write(target, new)
    click.echo(f"saved {phrase_id} to {target}")


@click.command("render")
@click.argument("phrase_id")
@click.option("--customer", "customer_id", required=True, help="Customer id.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: text, missing, complete.")
@click.option("--language", default=None, help="Variant language (default: the customer's).")
@click.option("--set", "values", multiple=True, metavar="NAME=VALUE", help="Fill a placeholder.")
@click.option("--coupon", default=None, help="Coupon for {coupon}.")
@click.option(
    "--related",
    default=None,
    help="Product for {related_product} (default: the related product of the order's main item).",
)
@click.option("--today", "today_opt", type=DATE, default=None, help="Pretend today is DATE.")
@db_option
@phrases_option
def render_cmd(
    phrase_id: str,
    customer_id: str,
    as_json: bool,
    language: str | None,
    values: tuple[str, ...],
    coupon: str | None,
    related: str | None,
    today_opt: date | None,
    db_path: Path | None,
    phrases_dir: Path | None,
) -> None:
    """Fill a phrase for a customer from their record and latest order.

    Prints the text. When a value is missing (no name, no coupon...), the text is NOT
    printed to stdout: the preview and the missing names go to stderr and the exit code is
    1; supply them with --set NAME=VALUE. With --json the result is always printed.
    """
    from tui_agent.cli.common import open_database
    from tui_agent.config import ConfigError, load_config
    from tui_agent.core.render import TemplateError, build_context, render_with
    from tui_agent.store.queries import get_customer, get_product, latest_order

    supplied: dict[str, str] = {}
    for item in values:
        m = _SET_RE.match(item)
        if m is None:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--set")
        supplied[m.group(1)] = m.group(2)
    result = _load(phrases_dir)
    phrase = result.library.get(phrase_id) or result.library.by_shortcut(phrase_id)
    if phrase is None:
        raise UserError(f"no phrase {phrase_id!r}")
    try:
        config = load_config()
    except ConfigError as exc:
        raise UserError(str(exc)) from None
    db = open_database(db_path, create=False)
    try:
        customer = get_customer(db, customer_id)
        if customer is None:
            raise UserError(f"no customer {customer_id!r}")
        order = latest_order(db, customer_id)
        category = None
        if order is not None and order.lines:
            main = max(order.lines, key=lambda line: line.amount)
            product = get_product(db, main.sku) if main.sku else None
            if product is not None:
                category = product.category
                if related is None and product.related_sku:
                    rel = get_product(db, product.related_sku)
                    related = rel.name if rel else None
    finally:
        db.close()
    variant = phrase.variant(language or customer.language)
    today = today_opt or cli_today()
    context = build_context(
        customer,
        order,
        today=today,
        shop_name=config.shop_name_for(variant.language),
        agent_name=agent_name(),
        related_product=related,
        coupon=coupon,
        category=category,
    )
    try:
        rendered = render_with(variant.body, context, supplied)
    except TemplateError as exc:
        raise UserError(f"phrase {phrase.id!r}: {exc}") from None
    if as_json:
        payload = {
            "phrase_id": phrase.id,
            "language": variant.language,
            "text": rendered.text,
            "missing": list(rendered.missing),
            "complete": rendered.complete,
        }
        echo_json(payload)
        return
    if rendered.missing:
        echo(rendered.text, err=True)
        raise UserError(
            "missing values for: "
            + ", ".join(rendered.missing)
            + " (give them with --set NAME=VALUE)"
        )
    # The text holds the customer's name and products, from a CSV: never raw to a terminal.
    echo(rendered.text)
