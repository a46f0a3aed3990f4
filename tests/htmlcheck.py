"""A small, strict HTML checker for the pages' own markup (no Java, no network).

Python's `html.parser` tokenises; this keeps the open elements on a stack and reports
what a browser would silently repair or a screen reader would stumble on:

- unclosed, misnested and stray tags, end tags for void elements, `<div/>` outside SVG.
  Stricter than HTML itself on purpose: every non-void element is closed explicitly
  (the optional end tags of `li`, `td`, `p`... are the house style never to omit);
- elements where their parent cannot hold them (`li` outside a list, `td` outside a row,
  a block inside `<p>`, interactive content inside `<a>` or `<button>`, nested forms);
- duplicate ids and duplicate attributes; `label[for]`, `aria-labelledby`,
  `aria-describedby`, `aria-controls` and `href="#id"` naming ids that do not exist;
- form controls without a label (`label[for]`, an enclosing `<label>`, `aria-label` or
  `aria-labelledby`); links and buttons without a name; `<img>` without `alt`; `<svg>`
  without a `<title>` child, `aria-label(ledby)`, or `aria-hidden="true"`;
- for whole documents: a doctype, `<html lang>`, a non-empty `<title>`, exactly one
  `<h1>` and one `<main>`. Fragments (htmx responses) must hold no document elements;
  their references may point into the page around them, so those are not checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser

VOID = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
    "track", "wbr",
}  # fmt: skip
BLOCK = {
    "address", "article", "aside", "blockquote", "details", "div", "dl", "fieldset",
    "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "main",
    "nav", "ol", "p", "pre", "section", "table", "ul",
}  # fmt: skip
INTERACTIVE = {"a", "button", "details", "input", "label", "select", "textarea", "iframe"}
PARENTS = {
    "li": {"ul", "ol", "menu"},
    "tr": {"table", "thead", "tbody", "tfoot"},
    "td": {"tr"},
    "th": {"tr"},
    "thead": {"table"},
    "tbody": {"table"},
    "tfoot": {"table"},
    "caption": {"table"},
    "colgroup": {"table"},
    "option": {"select", "datalist", "optgroup"},
    "optgroup": {"select"},
    "dt": {"dl", "div"},
    "dd": {"dl", "div"},
    "legend": {"fieldset"},
    "summary": {"details"},
}
# Elements that may hold only these children.
CHILDREN = {
    "ul": {"li", "script", "template"},
    "ol": {"li", "script", "template"},
    "tr": {"td", "th", "script", "template"},
    "thead": {"tr"},
    "tbody": {"tr"},
    "tfoot": {"tr"},
    "select": {"option", "optgroup"},
}
UNLABELLED_INPUTS = {"hidden", "submit", "button", "reset", "image"}
DOCUMENT_ONLY = {"html", "head", "body", "title"}
REFERENCE_ATTRIBUTES = ("aria-labelledby", "aria-describedby", "aria-controls")


@dataclass
class _Open:
    tag: str
    line: int
    attrs: dict[str, str | None]
    named: bool = False  # a link or button with text, or an svg with a <title>
    in_svg: bool = False


@dataclass
class _Control:
    tag: str
    line: int
    attrs: dict[str, str | None]
    wrapped: bool


class Checker(HTMLParser):
    def __init__(self, *, fragment: bool = False) -> None:
        super().__init__(convert_charrefs=True)
        self.fragment = fragment
        self.errors: list[str] = []
        self.stack: list[_Open] = []
        self.ids: dict[str, int] = {}
        self.references: list[tuple[str, str, int]] = []  # (attribute, id, line)
        self.label_for: set[str] = set()
        self.controls: list[_Control] = []
        self.counts: dict[str, int] = {}
        self.doctype = False
        self.title_text = ""
        self.lang: str | None = None

    # -- tokens

    def handle_decl(self, decl: str) -> None:
        self.doctype = self.doctype or decl.lower() == "doctype html"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, self_closing=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, self_closing=True)

    def handle_endtag(self, tag: str) -> None:
        line = self.getpos()[0]
        if tag in VOID:
            self.error(line, f"end tag </{tag}> for a void element")
            return
        open_tags = [item.tag for item in self.stack]
        if tag not in open_tags:
            self.error(line, f"stray end tag </{tag}>")
            return
        while self.stack:
            item = self.stack.pop()
            if item.tag == tag:
                self._closed(item)
                return
            self.error(line, f"<{item.tag}> from line {item.line} not closed before </{tag}>")

    def handle_data(self, data: str) -> None:
        if data.strip():
            for item in self.stack:
                if item.tag in ("a", "button"):
                    item.named = True
            if self.stack and self.stack[-1].tag == "title":
                if self.stack[-1].in_svg:
                    self._name_enclosing_svg()
                else:
                    self.title_text += data.strip()

    def close(self) -> list[str]:
        super().close()
        for item in reversed(self.stack):
            self.error(item.line, f"<{item.tag}> never closed")
        self.stack = []
        self._check_controls()
        if not self.fragment:
            self._check_references()
            self._check_document()
        return self.errors

    def error(self, line: int, message: str) -> None:
        self.errors.append(f"line {line}: {message}")

    # -- checks

    def _start(self, tag: str, pairs: list[tuple[str, str | None]], *, self_closing: bool) -> None:
        line = self.getpos()[0]
        attrs = dict(pairs)
        if len(attrs) != len(pairs):
            names = [name for name, _ in pairs]
            duplicates = sorted({name for name in names if names.count(name) > 1})
            self.error(line, f"<{tag}> repeats attribute {', '.join(duplicates)}")
        in_svg = tag == "svg" or bool(self.stack and self.stack[-1].in_svg)
        if not in_svg:
            self._check_placement(tag, attrs, line)
        if tag == "html":
            self.lang = attrs.get("lang")
        self.counts[tag] = self.counts.get(tag, 0) + 1
        self._record_ids(tag, attrs, line)

        if tag == "img":
            if attrs.get("alt") is None:
                self.error(line, "<img> without alt")
            elif attrs["alt"].strip():
                self._name_enclosing_links()
        if tag in ("input", "select", "textarea"):
            if tag != "input" or (attrs.get("type") or "text").lower() not in UNLABELLED_INPUTS:
                wrapped = any(item.tag == "label" for item in self.stack)
                self.controls.append(_Control(tag, line, attrs, wrapped))
        if tag == "input" and (attrs.get("type") or "").lower() in ("submit", "button", "reset"):
            if not (attrs.get("value") or attrs.get("aria-label")):
                self.error(line, f'<input type="{attrs["type"]}"> without a value')

        item = _Open(tag, line, attrs, in_svg=in_svg)
        if tag in ("a", "button", "svg") and _has_name(attrs):
            item.named = True
        if tag == "svg" and item.named:
            self._name_enclosing_links()
        if tag in VOID:
            return
        if self_closing:
            if in_svg:
                self._closed(item)
            else:
                self.error(line, f"<{tag}/> is not self-closing in HTML")
            return
        self.stack.append(item)

    def _check_placement(self, tag: str, attrs: dict[str, str | None], line: int) -> None:
        parent = self.stack[-1].tag if self.stack else None
        allowed = PARENTS.get(tag)
        if allowed is not None and parent not in allowed:
            self.error(line, f"<{tag}> inside <{parent}>, not in one of {sorted(allowed)}")
        children = CHILDREN.get(parent or "")
        if children is not None and tag not in children:
            self.error(line, f"<{tag}> directly inside <{parent}>")
        open_tags = {item.tag for item in self.stack}
        if tag in BLOCK and "p" in open_tags:
            self.error(line, f"<{tag}> inside <p>")
        hidden = tag == "input" and (attrs.get("type") or "").lower() == "hidden"
        if tag in INTERACTIVE and not hidden and open_tags & {"a", "button"}:
            outer = "a" if "a" in open_tags else "button"
            self.error(line, f"interactive <{tag}> inside <{outer}>")
        if tag == "form" and "form" in open_tags:
            self.error(line, "<form> inside <form>")
        if tag == "label" and "label" in open_tags:
            self.error(line, "<label> inside <label>")
        if tag in DOCUMENT_ONLY and self.fragment:
            self.error(line, f"<{tag}> in a fragment")

    def _record_ids(self, tag: str, attrs: dict[str, str | None], line: int) -> None:
        element_id = attrs.get("id")
        if element_id is not None:
            if not element_id.strip() or any(c.isspace() for c in element_id):
                self.error(line, f"<{tag}> has an empty or spaced id {element_id!r}")
            elif element_id in self.ids:
                first = self.ids[element_id]
                self.error(line, f"duplicate id {element_id!r} (first on line {first})")
            else:
                self.ids[element_id] = line
        for name in REFERENCE_ATTRIBUTES:
            for target in (attrs.get(name) or "").split():
                self.references.append((name, target, line))
        if tag == "label" and attrs.get("for"):
            self.label_for.add(attrs["for"])
            self.references.append(("label for", attrs["for"], line))
        href = attrs.get("href") or ""
        if tag == "a" and href.startswith("#") and len(href) > 1:
            self.references.append(("href", href[1:], line))

    def _closed(self, item: _Open) -> None:
        if item.tag in ("a", "button") and not item.named:
            self.error(item.line, f"<{item.tag}> without text or aria-label")
        if item.tag == "svg" and not item.named and item.attrs.get("aria-hidden") != "true":
            self.error(item.line, "<svg> without <title>, aria-label or aria-hidden")

    def _name_enclosing_svg(self) -> None:
        for item in reversed(self.stack):
            if item.tag == "svg":
                item.named = True
                self._name_enclosing_links()
                return

    def _name_enclosing_links(self) -> None:
        for item in self.stack:
            if item.tag in ("a", "button"):
                item.named = True

    def _check_controls(self) -> None:
        for control in self.controls:
            attrs = control.attrs
            if control.wrapped or (attrs.get("aria-label") or "").strip():
                continue
            if (attrs.get("aria-labelledby") or "").strip():
                continue  # whether the ids exist is a reference check
            if attrs.get("id") and attrs["id"] in self.label_for:
                continue
            if self.fragment and attrs.get("id"):
                continue  # its label may be in the page around the fragment
            name = attrs.get("name") or attrs.get("id") or "?"
            self.error(control.line, f"<{control.tag} name={name!r}> has no label")

    def _check_references(self) -> None:
        for attribute, target, line in self.references:
            if target not in self.ids:
                self.error(line, f"{attribute} names id {target!r}, which does not exist")

    def _check_document(self) -> None:
        if not self.doctype:
            self.error(1, "no <!DOCTYPE html>")
        if self.counts.get("html") != 1:
            self.error(1, "not exactly one <html>")
        if not self.title_text:
            self.error(1, "no <title> text")
        if not (self.lang or "").strip():
            self.error(1, "<html> without lang")
        for tag in ("h1", "main"):
            if self.counts.get(tag, 0) != 1:
                self.error(1, f"{self.counts.get(tag, 0)} <{tag}> elements, not one")


def _has_name(attrs: dict[str, str | None]) -> bool:
    return bool((attrs.get("aria-label") or "").strip() or attrs.get("aria-labelledby"))


def check_html(html: str, *, fragment: bool = False) -> list[str]:
    """Problems found in `html`, one line each; empty when it passes."""
    checker = Checker(fragment=fragment)
    checker.feed(html)
    return checker.close()
