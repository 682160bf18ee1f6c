"""The phrase library: TOML files, validation with ``path:line`` problems, overrides, saving.

A file holds an array of ``[[phrase]]`` tables::

    [[phrase]]
    id = "care-delivered"          # stable id: lowercase letters, digits, . _ -
    stage = "first_purchase"       # one of the five Stage values
    tags = ["care", "delivery"]    # occasions; the lifecycle rules ask for phrases by tag
    shortcut = "/gh"               # optional: / and up to 15 letters, digits or -
    language = "zh"                # the main variant's language (default zh)
    title = "签收关怀"
    body = "{name|亲}，您好！..."

    [phrase.variants.en]           # the same phrase in another language
    title = "Delivery care"
    body = "Hi {name|there}, ..."

Directories load in order (shipped, user, team, ``--phrases``); a later phrase with the same
id replaces an earlier one. A file that does not parse, or a phrase that is invalid, is
reported as a :class:`Problem` and left out; everything else still loads.
"""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from tui_agent.core import tomltext
from tui_agent.core.models import Stage
from tui_agent.core.render import TemplateError, placeholders

ID_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}\Z")
SHORTCUT_RE = re.compile(r"/[a-z0-9][a-z0-9-]{0,14}\Z")
LANGUAGE_RE = re.compile(r"[a-z]{2}(-[A-Za-z]{2,4})?\Z")
PHRASE_KEYS = {"id", "stage", "tags", "shortcut", "language", "title", "body", "variants"}
VARIANT_KEYS = {"title", "body"}
MAX_BODY = 2000


@dataclass(frozen=True, slots=True)
class Variant:
    """The phrase in one language."""

    language: str
    title: str
    body: str


@dataclass(frozen=True, slots=True)
class Phrase:
    """A reusable message template. ``variants[0]`` is the main language."""

    id: str
    stage: Stage
    variants: tuple[Variant, ...]
    tags: tuple[str, ...] = ()
    shortcut: str | None = None

    @property
    def language(self) -> str:
        return self.variants[0].language

    @property
    def title(self) -> str:
        return self.variants[0].title

    @property
    def body(self) -> str:
        return self.variants[0].body

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(v.language for v in self.variants)

    def variant(self, language: str | None = None) -> Variant:
        """The variant in ``language``, else the main one."""
        for v in self.variants:
            if v.language == language:
                return v
        return self.variants[0]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a phrase file, printed as ``path:line: reason``."""

    path: Path
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


@dataclass
class Library:
    """The loaded phrases (after overrides), in load order, with the file each came from."""

    phrases: dict[str, Phrase] = field(default_factory=dict)
    sources: dict[str, Path] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Phrase]:
        return iter(self.phrases.values())

    def __len__(self) -> int:
        return len(self.phrases)

    def __contains__(self, phrase_id: object) -> bool:
        return phrase_id in self.phrases

    def get(self, phrase_id: str) -> Phrase | None:
        return self.phrases.get(phrase_id)

    def by_shortcut(self, shortcut: str) -> Phrase | None:
        wanted = shortcut if shortcut.startswith("/") else "/" + shortcut
        for p in self.phrases.values():
            if p.shortcut == wanted:
                return p
        return None

    def suggest(
        self,
        stage: Stage | str,
        tags: Sequence[str],
        language: str,
        category: str | None = None,
    ) -> Phrase | None:
        """The phrase that fits a follow-up best (None when none fits): the console's
        suggestion and the demo's sent texts both come from here.

        It needs a tag of the rule or the same stage. A phrase written for a product
        category (tags ``food``, ``beauty``, ``clothing``, ``baby``, ``electronics``) is
        only suggested for that category; among the rest, most rule tags in common first,
        then the product's category, then the same stage, then the customer's language;
        ties keep library order.
        """
        stage_value = str(stage)
        wanted = set(tags)
        kind = category_tag(category)
        best: Phrase | None = None
        best_key: tuple[int, int, int, int] = (0, 0, 0, 0)
        for p in self.phrases.values():
            common = len(wanted.intersection(p.tags))
            same = int(p.stage.value == stage_value)
            if not common and not same:
                continue
            kinds = CATEGORY_TAGS.intersection(p.tags)
            if kinds and kind not in kinds:
                continue  # a refill offer for baby food is not for a T-shirt
            key = (common, int(kind in kinds), same, int(language in p.languages))
            if best is None or key > best_key:
                best, best_key = p, key
        return best


CATEGORY_TAGS = frozenset({"food", "beauty", "clothing", "baby", "electronics"})
_CATEGORY_WORDS = {
    "food": ("food", "食品", "饮料", "零食", "茶", "生鲜", "粮油"),
    "beauty": ("beauty", "美妆", "护肤", "彩妆", "个护", "skincare", "cosmetic"),
    "clothing": ("clothing", "服饰", "服装", "鞋", "apparel", "fashion"),
    "baby": ("baby", "母婴", "婴", "童", "mother"),
    "electronics": ("electronic", "数码", "电子", "家电", "digital"),
}


def category_tag(category: str | None) -> str | None:
    """The phrase tag for a product category (``mother_baby`` and 母婴 -> ``baby``)."""
    if not category:
        return None
    text = category.casefold()
    for tag, words in _CATEGORY_WORDS.items():
        if any(w in text for w in words):
            return tag
    return None


@dataclass
class LoadResult:
    library: Library
    problems: list[Problem]
    files: list[Path]


def phrase_files(directory: Path) -> list[Path]:
    """The ``*.toml`` files of a directory, sorted by name (subdirectories included)."""
    return sorted(p for p in directory.rglob("*.toml") if p.is_file())


def load_library(dirs: Iterable[Path]) -> LoadResult:
    """Load every phrase file under ``dirs`` in order; later ids override earlier ones."""
    library = Library()
    problems: list[Problem] = []
    files: list[Path] = []
    for directory in dirs:
        seen_here: dict[str, Path] = {}
        for path in phrase_files(directory):
            files.append(path)
            phrases, file_problems = load_file(path)
            problems.extend(file_problems)
            for phrase, line in phrases:
                if phrase.id in seen_here:
                    problems.append(
                        Problem(
                            path,
                            line,
                            f"duplicate id {phrase.id!r} (also in {seen_here[phrase.id]})",
                        )
                    )
                    continue
                seen_here[phrase.id] = path
                library.phrases.pop(phrase.id, None)  # an override moves to its new place
                library.phrases[phrase.id] = phrase
                library.sources[phrase.id] = path
    problems.extend(_shortcut_clashes(library))
    return LoadResult(library, problems, files)


def _shortcut_clashes(library: Library) -> list[Problem]:
    owners: dict[str, str] = {}
    problems: list[Problem] = []
    for p in library:
        if p.shortcut is None:
            continue
        if p.shortcut in owners:
            path = library.sources[p.id]
            problems.append(
                Problem(
                    path,
                    _key_line(path.read_text(encoding="utf-8"), p.id, "shortcut"),
                    f"shortcut {p.shortcut} of {p.id!r} is already used by {owners[p.shortcut]!r}",
                )
            )
        else:
            owners[p.shortcut] = p.id
    return problems


_TOML_LINE = re.compile(r"at line (\d+)")
_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*phrase[ \t]*\]\]", re.MULTILINE)


def load_file(path: Path) -> tuple[list[tuple[Phrase, int]], list[Problem]]:
    """Parse one file: the valid phrases with their line numbers, and the problems."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [Problem(path, 1, f"cannot read: {exc}")]
    try:
        data = tomltext.loads(text)
    except tomltext.TooDeeplyNested:
        return [], [Problem(path, 1, tomltext.TOO_DEEP)]
    except tomllib.TOMLDecodeError as exc:
        m = _TOML_LINE.search(str(exc))
        return [], [Problem(path, int(m.group(1)) if m else 1, f"not valid TOML: {exc}")]
    problems: list[Problem] = []
    extra = set(data) - {"phrase"}
    if extra:
        problems.append(Problem(path, 1, f"unknown top-level keys: {', '.join(sorted(extra))}"))
    raw = data.get("phrase", [])
    if not isinstance(raw, list):
        return [], [*problems, Problem(path, 1, "'phrase' must be an array of tables: [[phrase]]")]
    headers = [text.count("\n", 0, m.start()) + 1 for m in _HEADER.finditer(text)]
    lines = text.splitlines()
    result: list[tuple[Phrase, int]] = []
    for index, item in enumerate(raw):
        start = headers[index] if index < len(headers) else 1
        end = headers[index + 1] if index + 1 < len(headers) else len(lines) + 1
        try:
            phrase = phrase_from_dict(item)
        except PhraseError as exc:
            line = _find_key(lines, start, end, exc.key.rstrip(".")) if exc.key else start
            problems.append(Problem(path, line, str(exc)))
            continue
        result.append((phrase, start))
    return result, problems


def _find_key(lines: list[str], start: int, end: int, key: str) -> int:
    """The line (1-based) in [start, end) where ``key =`` is set, else ``start``.

    ``variants.en.body`` looks for ``body =`` after the ``[phrase.variants.en]`` header.
    """
    end = min(end, len(lines) + 1)
    parts = key.split(".")
    if parts[0] == "variants" and len(parts) >= 2:
        header = re.compile(rf"^\s*\[\s*phrase\.variants\.{re.escape(parts[1])}\s*\]")
        for n in range(start, end):
            if header.match(lines[n - 1]):
                start = n
                break
        if len(parts) == 2:
            return start
        key = parts[2]
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for n in range(start, end):
        if pattern.match(lines[n - 1]):
            return n
    return start


def _key_line(text: str, phrase_id: str, key: str) -> int:
    lines = text.splitlines()
    headers = [text.count("\n", 0, m.start()) + 1 for m in _HEADER.finditer(text)]
    id_re = re.compile(rf"^\s*id\s*=\s*[\"']{re.escape(phrase_id)}[\"']")
    for i, start in enumerate(headers):
        end = headers[i + 1] if i + 1 < len(headers) else len(lines) + 1
        if any(id_re.match(lines[n - 1]) for n in range(start, min(end, len(lines) + 1))):
            return _find_key(lines, start, end, key)
    return 1


class PhraseError(ValueError):
    """An invalid phrase; ``key`` names the field at fault (for the line number)."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


def _text(item: dict[str, Any], key: str, where: str, section: str = "") -> str:
    value = item.get(key)
    if value is None:
        raise PhraseError(f"{where}missing {key}", section.rstrip(".") or None)
    if not isinstance(value, str) or not value.strip():
        raise PhraseError(f"{where}{key} must be a non-empty string", section + key)
    return value


def _check_template(text: str, key: str, where: str) -> None:
    if len(text) > MAX_BODY:
        raise PhraseError(f"{where}{key} longer than {MAX_BODY} characters", key)
    try:
        placeholders(text)
    except TemplateError as exc:
        raise PhraseError(f"{where}{key.rsplit('.', 1)[-1]}: {exc}", key) from None


def phrase_from_dict(item: object) -> Phrase:
    """Validate one ``[[phrase]]`` table and build the Phrase (raises PhraseError)."""
    if not isinstance(item, dict):
        raise PhraseError("a phrase must be a table")
    raw_id = item.get("id")
    if not isinstance(raw_id, str) or not ID_RE.match(raw_id):
        raise PhraseError(
            "missing or invalid id (lowercase letters, digits, '.', '_' and '-', at most 64)", "id"
        )
    where = f"phrase {raw_id!r}: "
    unknown = set(item) - PHRASE_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise PhraseError(f"{where}unknown key {key!r}", key)
    stage_raw = item.get("stage")
    try:
        stage = Stage(str(stage_raw))
    except ValueError:
        choices = ", ".join(s.value for s in Stage)
        raise PhraseError(f"{where}stage must be one of {choices}", "stage") from None
    tags_raw = item.get("tags", [])
    if not isinstance(tags_raw, list) or not all(
        isinstance(t, str) and t.strip() and t == t.strip() for t in tags_raw
    ):
        raise PhraseError(f"{where}tags must be a list of non-empty strings", "tags")
    shortcut = item.get("shortcut")
    if shortcut is not None and (not isinstance(shortcut, str) or not SHORTCUT_RE.match(shortcut)):
        raise PhraseError(f"{where}shortcut must look like /bh (/, then a-z 0-9 -)", "shortcut")
    language = item.get("language", "zh")
    if not isinstance(language, str) or not LANGUAGE_RE.match(language):
        raise PhraseError(f"{where}language must be a code such as zh or en", "language")
    title = _text(item, "title", where)
    body = _text(item, "body", where)
    _check_template(body, "body", where)
    variants = [Variant(language, title, body)]
    extra = item.get("variants", {})
    if not isinstance(extra, dict):
        raise PhraseError(
            f"{where}variants must be tables such as [phrase.variants.en]", "variants"
        )
    for lang, v in extra.items():
        vwhere = f"{where}variant {lang!r}: "
        section = f"variants.{lang}."
        if not LANGUAGE_RE.match(lang) or lang == language:
            raise PhraseError(f"{vwhere}not a language code, or the main language again", section)
        if not isinstance(v, dict):
            raise PhraseError(f"{vwhere}must be a table with title and body", section)
        unknown = set(v) - VARIANT_KEYS
        if unknown:
            key = sorted(unknown)[0]
            raise PhraseError(f"{vwhere}unknown key {key!r}", section + key)
        vtitle = _text(v, "title", vwhere, section)
        vbody = _text(v, "body", vwhere, section)
        _check_template(vbody, section + "body", vwhere)
        variants.append(Variant(lang, vtitle, vbody))
    return Phrase(
        id=raw_id,
        stage=stage,
        variants=tuple(variants),
        tags=tuple(dict.fromkeys(tags_raw)),
        shortcut=shortcut,
    )


def phrase_to_dict(phrase: Phrase) -> dict[str, Any]:
    """The TOML table for a phrase (keys in a readable order, empty values left out)."""
    main = phrase.variants[0]
    out: dict[str, Any] = {"id": phrase.id, "stage": phrase.stage.value}
    if phrase.tags:
        out["tags"] = list(phrase.tags)
    if phrase.shortcut:
        out["shortcut"] = phrase.shortcut
    out["language"] = main.language
    out["title"] = main.title
    out["body"] = main.body
    if len(phrase.variants) > 1:
        out["variants"] = {
            v.language: {"title": v.title, "body": v.body} for v in phrase.variants[1:]
        }
    return out


def dumps(phrases: Iterable[Phrase]) -> str:
    """TOML text for the phrases (multi-line strings kept readable)."""
    return tomli_w.dumps({"phrase": [phrase_to_dict(p) for p in phrases]}, multiline_strings=True)


def save_file(path: Path, phrases: Iterable[Phrase]) -> None:
    """Write the phrases to ``path`` atomically (a reader never sees half a file)."""
    text = dumps(phrases)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def upsert_phrase(path: Path, phrase: Phrase) -> None:
    """Add ``phrase`` to the file, or replace the phrase with its id; other phrases are kept.

    Refuses to rewrite a file that currently has problems, so nothing in it is lost.
    """
    existing: list[Phrase] = []
    if path.exists():
        loaded, problems = load_file(path)
        if problems:
            raise PhraseError(f"{problems[0]} (fix the file before writing to it)")
        existing = [p for p, _ in loaded]
    replaced = False
    for i, p in enumerate(existing):
        if p.id == phrase.id:
            existing[i] = phrase
            replaced = True
    if not replaced:
        existing.append(phrase)
    save_file(path, existing)
