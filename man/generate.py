#!/usr/bin/env python3
"""Write the roff man pages of mne_cli from its click commands.

Usage::

    python man/generate.py           # (re)write man/man1/*.1
    python man/generate.py --check   # exit 1 and list the pages that are out of date

Every console script of ``pyproject.toml`` gets a page. Scripts that run the
same command share it: the page is written for the short name
(``forward_solution.1``) and the ``mne_`` alias gets a copy of it (not a
``.so`` link, which ``man -l`` resolves only from one directory). A page is
built from two sources:

* the click command: NAME (first paragraph of the docstring, or the
  ``description:`` header of the hand-written file), SYNOPSIS, DESCRIPTION
  (the docstring; paragraphs whose first line is click's ``\\b`` marker are
  kept as typed), OPTIONS (every option that is not hidden, with all its
  spellings, value name, help text, choices and default, in mm where the
  option takes millimetres) and the standard EXIT STATUS;
* ``man/src/<command>.txt``, written by hand, in the format below.

Format of ``man/src/<command>.txt``
-----------------------------------
* Lines starting with ``#`` in the first column are comments.
* Header, before the first section: ``date: YYYY-MM-DD`` (required; printed
  in the page footer, so regeneration gives the same bytes on any day) and
  optionally ``description: <text>`` (the NAME line, instead of the docstring
  summary).
* ``== SECTION`` starts a section; allowed: ENVIRONMENT, FILES, EXIT STATUS
  (added after the standard entries), NOTES, BUGS, EXAMPLES, SEE ALSO. They
  are printed in the order of man-pages(7), whatever their order in the file.
* Inside a section, blocks are separated by blank lines:

  - a block whose first line is ``: <term>`` is a tagged paragraph: the term,
    then the following lines indented below it (``.TP``);
  - lines indented by four spaces are shown verbatim (``.nf``/``.fi``), e.g.
    command lines; blank lines between indented lines stay in the block;
  - any other block is a filled paragraph.

* Inline markup in terms and paragraphs: ``**bold**`` and ``__italic__``;
  ``--option`` words are set in bold automatically. Nothing is interpreted
  inside verbatim blocks. Roff special characters need no escaping.
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path

import click

MAN_DIR = Path(__file__).resolve().parent
REPO = MAN_DIR.parent
PAGE_DIR = MAN_DIR / "man1"
SOURCE_DIR = MAN_DIR / "src"
PYPROJECT = REPO / "pyproject.toml"
MANUAL = "mne_cli Manual"

# Sections of the hand-written files, in the order man-pages(7) prints them.
HAND_SECTIONS = ("EXIT STATUS", "ENVIRONMENT", "FILES", "NOTES", "BUGS", "EXAMPLES", "SEE ALSO")
HEADER_KEYS = ("date", "description")

try:  # click >= 8.3 marks "no default" with a sentinel instead of None
    from click.core import UNSET as _UNSET
except ImportError:  # pragma: no cover - older click
    _UNSET = None


# --------------------------------------------------------------------------- roff text

_WORD_HYPHEN = re.compile(r"^[(\"']*[A-Za-z]+(?:-[A-Za-z]+)+(?:'s)?[)\"',.;:!?]*$")
_OPTION = re.compile(r"(?<![\w\\-])(\\-\\-[A-Za-z][A-Za-z0-9]*(?:\\-[A-Za-z0-9]+)*)")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"__(.+?)__")


def _hyphens(text: str) -> str:
    """``-`` -> ``\\-`` except inside plain hyphenated words (MNE-C, graph-distance).

    Options, file names, numbers and command lines keep an ASCII minus when
    rendered, so they can be copied from the page.
    """
    parts = re.split(r"(\s+)", text)
    return "".join(p if "-" not in p or _WORD_HYPHEN.match(p) else p.replace("-", r"\-")
                   for p in parts)


def escape(text: str) -> str:
    """Plain text -> roff text (no line-start protection; see :func:`text_line`).

    A no-break space (U+00A0) becomes roff's unbreakable space.
    """
    return _hyphens(text.replace("\\", r"\e")).replace("\N{NO-BREAK SPACE}", "\\ ")


def inline(text: str) -> str:
    """Escape a piece of prose and apply the inline markup."""
    out = _OPTION.sub(r"\\fB\1\\fR", _path_breaks(escape(text)))
    out = _BOLD.sub(lambda m: rf"\fB{_unbreakable(m[1])}\fR", out)
    return _ITALIC.sub(lambda m: rf"\fI{_unbreakable(m[1])}\fR", out)


def _path_breaks(text: str) -> str:
    """Let long paths break after a slash (``\\:``) rather than overflow the line."""
    return re.sub(r"\S{36,}", lambda m: m[0].replace("/", r"/\:"), text)


def _unbreakable(text: str) -> str:
    """Marked-up words stay on one output line (``make -C share/demo``)."""
    return text.replace(" ", "\\ ")


def text_line(line: str) -> str:
    """A roff text line: no leading blanks; a leading ``.`` or ``'`` is protected."""
    line = line.strip()
    if line.startswith((".", "'")):
        line = r"\&" + line
    return line


def verbatim_line(line: str) -> str:
    """A line for no-fill mode: escaped, indentation kept, never empty."""
    line = escape(line.rstrip())
    if not line or line.startswith((".", "'")):
        line = r"\&" + line
    return line


def quoted_arg(text: str) -> str:
    """A macro argument in double quotes."""
    return '"' + escape(text).replace('"', r"\(dq") + '"'


# --------------------------------------------------------------------------- sources


@dataclass
class Block:
    kind: str                      # "para", "tagged" or "verbatim"
    lines: list[str]
    term: str = ""


@dataclass
class HandWritten:
    date: str
    description: str | None = None
    sections: dict[str, list[Block]] = field(default_factory=dict)


class SourceError(ValueError):
    """A hand-written source file does not follow the format."""


def parse_source(text: str, name: str) -> HandWritten:
    """Parse a ``man/src/<command>.txt`` file (format in the module docstring)."""
    header: dict[str, str] = {}
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("#"):
            continue
        if line.startswith("=="):
            title = line[2:].strip()
            if title not in HAND_SECTIONS:
                raise SourceError(f"{name}:{number}: unknown section {title!r}; "
                                  f"use one of {', '.join(HAND_SECTIONS)}")
            if title in sections:
                raise SourceError(f"{name}:{number}: section {title} given twice")
            current = sections[title] = []
        elif current is not None:
            current.append(line.rstrip())
        elif line.strip():
            key, sep, value = line.partition(":")
            if not sep or key.strip() not in HEADER_KEYS:
                raise SourceError(f"{name}:{number}: expected 'date: YYYY-MM-DD' or "
                                  "'description: ...' before the first '== SECTION'")
            header[key.strip()] = value.strip()
    date = header.get("date", "")
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
        raise SourceError(f"{name}: the header needs 'date: YYYY-MM-DD'")
    return HandWritten(date, header.get("description"),
                       {title: _blocks(lines, f"{name} ({title})")
                        for title, lines in sections.items()})


def _blocks(lines: list[str], where: str) -> list[Block]:
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif line.startswith("    "):
            body = []
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                body.append(lines[i][4:])
                i += 1
            while not body[-1].strip():
                body.pop()
            blocks.append(Block("verbatim", body))
        else:
            body = []
            while i < len(lines) and lines[i].strip() and not lines[i].startswith("    "):
                body.append(lines[i])
                i += 1
            if body[0].startswith(": "):
                if len(body) < 2:
                    raise SourceError(f"{where}: the term {body[0][2:]!r} has no text below it")
                blocks.append(Block("tagged", body[1:], term=body[0][2:]))
            else:
                blocks.append(Block("para", body))
    return blocks


def render_blocks(blocks: list[Block]) -> list[str]:
    out: list[str] = []
    for k, block in enumerate(blocks):
        if block.kind == "tagged":
            out += [".TP", text_line(inline(block.term))]
            out += [text_line(inline(line)) for line in block.lines]
        elif block.kind == "verbatim":
            if k:
                out.append(".PP")
            out += [".RS 4", ".nf", *(verbatim_line(line) for line in block.lines), ".fi", ".RE"]
        else:
            if k:
                out.append(".PP")
            out += [text_line(inline(line)) for line in block.lines]
    return out


# --------------------------------------------------------------------------- click


def console_scripts(pyproject: Path = PYPROJECT) -> dict[str, str]:
    """``[project.scripts]`` of pyproject.toml: script name -> "module:attr"."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    with open(pyproject, "rb") as fid:
        return dict(tomllib.load(fid)["project"]["scripts"])


def command_groups(scripts: dict[str, str]) -> dict[str, list[str]]:
    """Page name -> the script names of the same command (page name first).

    The page is named after the script without the ``mne_`` prefix when there
    is one (forward_solution, alias mne_forward_solution); otherwise after the
    only name (mne_setup_source_space).
    """
    by_target: dict[str, list[str]] = {}
    for name, target in scripts.items():
        by_target.setdefault(target, []).append(name)
    groups = {}
    for names in by_target.values():
        page = min(names, key=lambda n: (n.startswith("mne_"), len(n), n))
        groups[page] = [page] + sorted(n for n in names if n != page)
    return dict(sorted(groups.items()))


def load_command(target: str) -> click.Command:
    module, _, attr = target.partition(":")
    return getattr(import_module(module), attr)


def command_context(command: click.Command, name: str) -> click.Context:
    return click.Context(command, info_name=name, **command.context_settings)


def visible_options(command: click.Command, ctx: click.Context) -> list[click.Option]:
    """Every option the user may type, help option included, hidden ones left out."""
    return [p for p in command.get_params(ctx)
            if isinstance(p, click.Option) and not p.hidden]


def spellings(option: click.Option) -> list[str]:
    return [*option.opts, *option.secondary_opts]


def value_name(option: click.Option, ctx: click.Context) -> str | None:
    """What follows the option on the command line (None for flags)."""
    if option.is_flag or option.count:
        return None
    if option.metavar:
        return option.metavar
    if isinstance(option.type, click.Choice):
        return "|".join(str(c) for c in option.type.choices)
    return option.make_metavar(ctx)


def length_unit(option: click.Option) -> str | None:
    """The unit of the option's value when it is known from its type or help."""
    from mne_cli.cli.options import Millimetres, MillimetreTriple

    if isinstance(option.type, (Millimetres, MillimetreTriple)):
        return "mm"
    if re.search(r"\bS/m\b", option.help or ""):
        return "S/m"
    return None


def shown_default(option: click.Option, ctx: click.Context) -> str | None:
    """The default as the page prints it (with its unit), or None."""
    if option.is_flag or option.count or option.show_default is False:
        return None
    if isinstance(option.show_default, str):
        return option.show_default
    default = option.get_default(ctx, call=False)
    if default is None or default is _UNSET or isinstance(default, (tuple, list)):
        return None
    if callable(default):
        return None
    unit = length_unit(option)
    return f"{default}\N{NO-BREAK SPACE}{unit}" if unit else str(default)


def option_help(option: click.Option, ctx: click.Context) -> str:
    """The help text of an option followed by choices, default and repeatability."""
    if option is ctx.command.get_help_option(ctx):
        text = "Print a summary of the options and exit."
    else:
        text = inspect.cleandoc(option.help or "").replace("\n", " ")
    extra = []
    if is_required(option):
        extra.append("Required.")
    if isinstance(option.type, click.Choice):
        extra.append("One of: " + ", ".join(str(c) for c in option.type.choices) + ".")
    default = shown_default(option, ctx)
    if default is not None:
        extra.append(f"Default: {default}.")
    envvar = option.envvar
    if isinstance(envvar, str) and f"${envvar}" not in text:
        extra.append(f"Default: the value of ${envvar}.")
    if option.multiple and not option.is_flag:
        extra.append("May be given more than once.")
    return " ".join(filter(None, [text, *extra]))


def is_required(option: click.Option) -> bool:
    """Required by click, or checked by the command itself (options.NeededOption)."""
    return option.required or getattr(option, "needed", False)


def docstring_paragraphs(command: click.Command) -> list[tuple[bool, list[str]]]:
    """The command docstring as (keep_as_typed, lines) paragraphs."""
    text = inspect.cleandoc(command.help or "").split("\f")[0]
    paragraphs = []
    for chunk in re.split(r"\n\s*\n", text.strip()):
        lines = chunk.splitlines()
        if lines and lines[0].strip() == "\b":
            paragraphs.append((True, lines[1:]))
        else:
            paragraphs.append((False, [line.strip() for line in lines]))
    return paragraphs


def summary(command: click.Command, hand: HandWritten) -> str:
    """The NAME-line description: lower-case start, no final period."""
    if hand.description:
        return hand.description
    text = " ".join(docstring_paragraphs(command)[0][1]).strip().rstrip(".")
    first = text.split(" ", 1)[0]
    if first[:1].isupper() and first[1:].islower():
        text = text[0].lower() + text[1:]
    return text


# --------------------------------------------------------------------------- pages


def synopsis(names: list[str], options: list[click.Option], ctx: click.Context) -> list[str]:
    out = [f".B {escape(names[0])}"]
    for option in options:
        word = rf"\fB{escape(option.opts[0])}\fR"
        value = value_name(option, ctx)
        if value:
            word += rf"\ \fI{escape(value)}\fR"  # flag and value on one line
        if not is_required(option):
            word = f"[{word}]"
        if option.multiple and not option.is_flag:
            word += r".\|.\|.\&"  # \& : not the end of a sentence
        out.append(text_line(word))
    for alias in names[1:]:
        out += [".br", f".B {escape(alias)}", r"[\fIoption\fR].\|.\|.\&"]
    return out


def description(command: click.Command, names: list[str]) -> list[str]:
    out: list[str] = []
    for k, (as_typed, lines) in enumerate(docstring_paragraphs(command)):
        if k:
            out.append(".PP")
        if as_typed:
            out += [".nf", *(verbatim_line(line) for line in lines), ".fi"]
        else:
            out += [text_line(inline(line)) for line in lines]
    if len(names) > 1:
        aliases = ", ".join(rf"\fB{escape(n)}\fR" for n in names[1:])
        out += [".PP", text_line(f"{aliases} is the same command under its MNE-C name.")]
    if any(length_unit(option) == "mm" or re.search(r"\bmm\b", option.help or "")
           for option in command.params if isinstance(option, click.Option)):
        out += [".PP",
                "Lengths on the command line are in millimetres unless an option says otherwise;",
                "the FIF files written hold SI units (metres, S/m)."]
    return out


def options_section(options: list[click.Option], ctx: click.Context) -> list[str]:
    out: list[str] = []
    for option in options:
        tag = ", ".join(rf"\fB{escape(s)}\fR" for s in spellings(option))
        value = value_name(option, ctx)
        if value:
            tag += rf" \fI{escape(value)}\fR"
        out += [".TP", text_line(tag), text_line(inline(option_help(option, ctx)))]
    return out


def exit_status(names: list[str]) -> list[str]:
    """The exit codes every command shares (ToolCommand in mne_cli/cli/runner.py)."""
    called = " or ".join(rf"\fB{escape(n)}\fR" for n in names)
    return [
        ".TP", "0", r"Success (also after \fB\-\-help\fR and \fB\-\-version\fR).",
        ".TP", "1",
        "Runtime error: an input is missing or invalid, or an output cannot be written.",
        r"A single line, \fIprogram\fB:\fR \fImessage\fR, on standard error says what went",
        f"wrong, \\fIprogram\\fR being the name the command was run as ({called}).",
        "No output file is written, and an existing file of the same name is left",
        "unchanged.",
        ".TP", "2",
        "Usage error: an unknown option, or a value that is missing or malformed.",
        "The usage line and the problem go to standard error.",
    ]


def render_page(names: list[str], command: click.Command, hand: HandWritten,
                version: str) -> str:
    """The roff text of the page for ``names[0]`` (aliases in ``names[1:]``)."""
    name = names[0]
    ctx = command_context(command, name)
    options = visible_options(command, ctx)
    lines = [
        rf'.\" {name}.1: generated by man/generate.py from mne_cli/cli and man/src/{name}.txt.',
        r'.\" Do not edit; change those files and run: python man/generate.py',
        (f".TH {escape(name.upper())} 1 {hand.date} {quoted_arg('mne_cli ' + version)} "
         f"{quoted_arg(MANUAL)}"),
        ".nh",
        ".ad l",
        ".SH NAME",
        text_line(", ".join(escape(n) for n in names) + r" \- " + escape(summary(command, hand))),
        ".SH SYNOPSIS",
        *synopsis(names, options, ctx),
        ".SH DESCRIPTION",
        *description(command, names),
        ".SH OPTIONS",
        *options_section(options, ctx),
    ]
    for title in HAND_SECTIONS:
        blocks = hand.sections.get(title)
        if title == "EXIT STATUS":
            lines += [".SH EXIT STATUS", *exit_status(names)]
            if blocks:
                lines += [".PP", *render_blocks(blocks)]
        elif blocks:
            lines += [f".SH {title}", *render_blocks(blocks)]
    return "\n".join(lines) + "\n"


def render_pages() -> dict[str, str]:
    """File name in man1/ -> contents, for every console script."""
    from mne_cli import __version__

    pages: dict[str, str] = {}
    scripts = console_scripts()
    missing = []
    for page, names in command_groups(scripts).items():
        source = SOURCE_DIR / f"{page}.txt"
        if not source.is_file():
            missing.append(str(source.relative_to(REPO)))
            continue
        hand = parse_source(source.read_text(encoding="utf-8"), str(source.relative_to(REPO)))
        command = load_command(scripts[page])
        pages[f"{page}.1"] = render_page(names, command, hand, __version__)
        for alias in names[1:]:  # a copy, not ".so": man -l renders it from anywhere
            pages[f"{alias}.1"] = pages[f"{page}.1"]
    if missing:
        raise SourceError("no hand-written sections for: " + ", ".join(missing))
    return pages


def stale_pages(pages: dict[str, str]) -> list[str]:
    """Pages that differ from ``pages`` on disk, are missing, or are not generated."""
    stale = [name for name, text in pages.items()
             if not (PAGE_DIR / name).is_file()
             or (PAGE_DIR / name).read_text(encoding="utf-8") != text]
    stale += [p.name + " (not generated any more)" for p in sorted(PAGE_DIR.glob("*.1"))
              if p.name not in pages]
    return sorted(stale)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate man/man1/*.1 from the click "
                                                 "commands and man/src/*.txt.")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 listing the pages that are out of date")
    args = parser.parse_args(argv)
    try:
        pages = render_pages()
    except SourceError as err:
        print(f"generate.py: {err}", file=sys.stderr)
        return 1
    stale = stale_pages(pages)
    if args.check:
        if stale:
            print("out-of-date man pages (run: python man/generate.py):", file=sys.stderr)
            for name in stale:
                print(f"  man/man1/{name}", file=sys.stderr)
            return 1
        return 0
    PAGE_DIR.mkdir(exist_ok=True)
    for name, text in pages.items():
        path = PAGE_DIR / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8", newline="\n")
            print(f"wrote man/man1/{name}")
    for path in sorted(PAGE_DIR.glob("*.1")):
        if path.name not in pages:
            path.unlink()
            print(f"removed man/man1/{path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
