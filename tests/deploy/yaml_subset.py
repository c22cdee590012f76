"""A reader of the plain subset of YAML the files under deploy/ are written in
(Python's standard library has no YAML). Block mappings and sequences, plain,
'single' and "double" quoted scalars, flow [lists] and {maps} of scalars,
literal and folded block scalars (| > |- >-), comments. Anything else (anchors,
tags, several documents, a scalar over several lines, a repeated key, a tab in
the indentation) is refused with the line number: the files stay in a shape
every YAML reader reads alike.

    load(text) -> dict | list | scalar      raises YamlError
"""

import re


class YamlError(ValueError):
    pass


_INT = re.compile(r"[-+]?[0-9]+$")
_FLOAT = re.compile(r"[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$")


def _strip_comment(text):
    """The text without a trailing comment (a # after a space, outside quotes)."""
    quote = None
    i = 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 1
            elif c == quote:
                if quote == "'" and text[i + 1:i + 2] == "'":
                    i += 1
                else:
                    quote = None
        elif c in "'\"" and (i == 0 or text[i - 1] in " \t[{,:"):
            quote = c
        elif c == "#" and (i == 0 or text[i - 1] in " \t"):
            return text[:i].rstrip()
        i += 1
    return text.rstrip()


class _Scanner:
    """Reads one scalar or flow collection from text[pos:]."""

    def __init__(self, text, lineno):
        self.text, self.pos, self.lineno = text, 0, lineno

    def fail(self, what):
        raise YamlError(f"line {self.lineno}: {what}: {self.text!r}")

    def skip_spaces(self):
        while self.pos < len(self.text) and self.text[self.pos] == " ":
            self.pos += 1

    def value(self, stops):
        self.skip_spaces()
        c = self.text[self.pos:self.pos + 1]
        if c == "[":
            return self.flow(close="]")
        if c == "{":
            return self.flow(close="}")
        if c in ("'", '"'):
            return self.quoted(c)
        if c in ("&", "*", "!", "|", ">", "%", "@", "`"):
            self.fail(f"'{c}' is outside the subset")
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in stops:
            if self.text[self.pos] == ":" and self.text[self.pos + 1:self.pos + 2] in (" ", ""):
                break
            self.pos += 1
        return plain_scalar(self.text[start:self.pos].strip())

    def quoted(self, q):
        self.pos += 1
        out = []
        while True:
            if self.pos >= len(self.text):
                self.fail("unterminated quoted scalar (one line only)")
            c = self.text[self.pos]
            if c == q:
                if q == "'" and self.text[self.pos + 1:self.pos + 2] == "'":
                    out.append("'")
                    self.pos += 2
                    continue
                self.pos += 1
                return "".join(out)
            if c == "\\" and q == '"':
                esc = self.text[self.pos + 1:self.pos + 2]
                simple = {'"': '"', "\\": "\\", "/": "/", "n": "\n", "t": "\t"}
                if esc in simple:
                    out.append(simple[esc])
                    self.pos += 2
                elif esc == "u":
                    out.append(chr(int(self.text[self.pos + 2:self.pos + 6], 16)))
                    self.pos += 6
                else:
                    self.fail(f"escape \\{esc} is outside the subset")
                continue
            out.append(c)
            self.pos += 1

    def flow(self, close):
        self.pos += 1
        items = [] if close == "]" else {}
        while True:
            self.skip_spaces()
            if self.text[self.pos:self.pos + 1] == close:
                self.pos += 1
                return items
            if close == "]":
                items.append(self.value(",]"))
            else:
                key = self.value(",}:")
                self.skip_spaces()
                if self.text[self.pos:self.pos + 1] != ":":
                    self.fail("a flow mapping entry without ':'")
                self.pos += 1
                if key in items:
                    self.fail(f"repeated key {key!r}")
                items[key] = self.value(",}")
            self.skip_spaces()
            c = self.text[self.pos:self.pos + 1]
            if c == ",":
                self.pos += 1
            elif c != close:
                self.fail(f"expected ',' or '{close}'")


def plain_scalar(s):
    if s in ("", "~", "null", "Null", "NULL"):
        return None
    if s in ("true", "True", "TRUE"):
        return True
    if s in ("false", "False", "FALSE"):
        return False
    if _INT.match(s):
        return int(s)
    if _FLOAT.match(s):
        return float(s)
    return s


def _inline(text, lineno):
    """A whole scalar or flow collection written on one line."""
    sc = _Scanner(text, lineno)
    v = sc.value("")
    sc.skip_spaces()
    if sc.pos != len(text):
        sc.fail("text after the value")
    return v


class _Parser:
    def __init__(self, text):
        # (indent, content, lineno, raw line) of each line that is not blank or a comment.
        self.raw = text.split("\n")
        self.lines = []
        for n, line in enumerate(self.raw, 1):
            if line.startswith("%") or line.strip() in ("---", "..."):
                raise YamlError(f"line {n}: directives and document markers are outside the subset")
            body = line.lstrip(" ")
            if body.startswith("\t"):
                raise YamlError(f"line {n}: a tab in the indentation")
            content = _strip_comment(body)
            if content:
                self.lines.append((len(line) - len(body), content, n))
        self.i = 0

    def parse(self):
        if not self.lines:
            return None
        v = self.node(self.lines[0][0])
        if self.i != len(self.lines):
            _, content, n = self.lines[self.i]
            raise YamlError(f"line {n}: unexpected text after the top-level node: {content!r}")
        return v

    def node(self, indent):
        _, content, _ = self.lines[self.i]
        if content == "-" or content.startswith("- "):
            return self.sequence(indent)
        return self.mapping(indent)

    def sequence(self, indent):
        items = []
        while self.i < len(self.lines):
            ind, content, n = self.lines[self.i]
            is_item = content == "-" or content.startswith("- ")
            if ind < indent or (ind == indent and not is_item):
                break  # the end of the sequence (a sequence may sit at its key's indentation)
            if ind > indent:
                raise YamlError(f"line {n}: expected a '- ' item at column {indent + 1}: {content!r}")
            rest = content[1:].lstrip(" ")
            if not rest:
                self.i += 1
                items.append(self.child(indent, n))
                continue
            # The item's content starts at a deeper column: read it as if on a line of its own.
            self.lines[self.i] = (ind + len(content) - len(rest), rest, n)
            items.append(self.node(self.lines[self.i][0]) if self.is_mapping_entry(rest) or rest.startswith("- ")
                         else self.scalar_line(rest, n))
        return items

    def scalar_line(self, text, n):
        self.i += 1
        return _inline(text, n)

    @staticmethod
    def is_mapping_entry(text):
        if text[:1] in ("'", '"', "[", "{"):
            sc = _Scanner(text, 0)
            try:
                sc.value(":")
            except YamlError:
                return False
            sc.skip_spaces()
            return text[sc.pos:sc.pos + 1] == ":"
        m = re.match(r"[^\s#'\"\[\]{},][^#]*?:( |$)", text)
        return m is not None

    def mapping(self, indent):
        out = {}
        while self.i < len(self.lines):
            ind, content, n = self.lines[self.i]
            if ind < indent:
                break
            if ind > indent:
                raise YamlError(f"line {n}: unexpected indentation: {content!r}")
            if not self.is_mapping_entry(content):
                raise YamlError(f"line {n}: expected 'key: value': {content!r}")
            sc = _Scanner(content, n)
            key = sc.value(":")
            sc.skip_spaces()
            sc.pos += 1  # the ':'
            rest = content[sc.pos:].strip()
            if key in out:
                raise YamlError(f"line {n}: repeated key {key!r}")
            self.i += 1
            if not rest:
                out[key] = self.child(indent, n, allow_same_indent_sequence=True)
            elif rest[0] in "|>":
                out[key] = self.block_scalar(rest, indent, n)
            else:
                out[key] = _inline(rest, n)
        return out

    def child(self, indent, n, allow_same_indent_sequence=False):
        if self.i < len(self.lines):
            ind, content, _ = self.lines[self.i]
            is_item = content == "-" or content.startswith("- ")
            if ind > indent or (allow_same_indent_sequence and ind == indent and is_item):
                return self.node(ind)
        return None

    def block_scalar(self, header, indent, n):
        m = re.match(r"([|>])([-+]?)$", header)
        if not m:
            raise YamlError(f"line {n}: block scalar header {header!r} is outside the subset")
        style, chomp = m.groups()
        body = []
        raw_i = n  # index in self.raw of the line after the header
        block_indent = None
        while raw_i < len(self.raw):
            line = self.raw[raw_i]
            stripped = line.lstrip(" ")
            lead = len(line) - len(stripped)
            if stripped and lead <= indent:
                break
            if stripped and block_indent is None:
                block_indent = lead
            body.append(line[block_indent:] if stripped else "")
            raw_i += 1
        while self.i < len(self.lines) and self.lines[self.i][2] <= raw_i:
            self.i += 1
        while body and body[-1] == "":
            body.pop()
        text = "\n".join(body) if style == "|" else " ".join(body)
        return text if chomp == "-" else text + "\n"


def load(text):
    return _Parser(text).parse()
