"""The docs stay honest: every code link names a symbol that exists in the linked file, every page is
reachable from docs/index.md, and every example command shown in the docs parses its arguments."""

import ast
import importlib.util
import os
import re
import shlex

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
PAGES = sorted(f for f in os.listdir(DOCS) if f.endswith(".md"))
CODE_LINK = re.compile(r"\[`([\w.]+)`\]\((\.\./[\w/]+\.py)\)")
PAGE_LINK = re.compile(r"\]\(([\w-]+\.md)(?:#[\w-]*)?\)")
COMMAND = re.compile(r"^\s*python (examples/\w+\.py)([^\n#]*)", re.M)


def read(page):
    with open(os.path.join(DOCS, page)) as f:
        return f.read()


def defined_names(path):
    """Top-level functions and classes of a file, and Class.method for their methods."""
    tree = ast.parse(open(path).read())
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
            if isinstance(node, ast.ClassDef):
                names |= {f"{node.name}.{n.name}" for n in node.body if isinstance(n, ast.FunctionDef)}
    return names


@pytest.mark.parametrize("page", PAGES)
def test_code_links_resolve_to_existing_symbols(page):
    for symbol, target in CODE_LINK.findall(read(page)):
        path = os.path.normpath(os.path.join(DOCS, target))
        assert os.path.exists(path), f"{page}: link to missing file {target}"
        assert symbol in defined_names(path), f"{page}: {symbol} is not defined in {target}"


def test_every_page_is_reachable_from_the_index():
    seen, todo = set(), ["index.md"]
    while todo:
        page = todo.pop()
        if page in seen:
            continue
        assert page in PAGES, f"a link points to the missing page {page}"
        seen.add(page)
        todo += PAGE_LINK.findall(read(page))
    assert seen == set(PAGES), f"unreachable from index.md: {sorted(set(PAGES) - seen)}"


def test_the_docs_link_to_code_at_all():
    assert sum(len(CODE_LINK.findall(read(p))) for p in PAGES) > 60


def example_commands():
    sources = [read(p) for p in PAGES] + [open(os.path.join(ROOT, "README.md")).read()]
    return sorted({(m.group(1), m.group(2).strip()) for text in sources for m in COMMAND.finditer(text)})


@pytest.mark.parametrize("script, args", example_commands())
def test_example_commands_in_the_docs_parse(script, args):
    path = os.path.join(ROOT, script)
    assert os.path.exists(path), f"the docs mention {script}, which does not exist"
    spec = importlib.util.spec_from_file_location(os.path.basename(script)[:-3], path)
    module = importlib.util.module_from_spec(spec)
    import sys

    sys.path.insert(0, os.path.dirname(path))
    try:
        spec.loader.exec_module(module)
        module.parse_args(shlex.split(args.split("&&")[0]))
    finally:
        sys.path.remove(os.path.dirname(path))
