"""The docs stay honest: every code link names a symbol that exists in the linked file, every page is
reachable from docs/index.md, every link to a heading finds it, every citation of the paper's reference
(docs/paper.md §N) names a section it has, and every example command shown in the docs parses its arguments."""

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
ANCHOR_LINK = re.compile(r"\]\(([\w-]+\.md)?#([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} +(.+?) *$", re.M)
SECTION = "§(\\d+(?:\\.\\d+)?)"
CITATION = re.compile(rf"docs/paper\.md {SECTION}((?:(?:–|, ){SECTION})*)")
PAPER_LINK = re.compile(rf"\[(?:paper\.md )?{SECTION}\]\(paper\.md#([\w-]+)\)")


def read(page):
    with open(os.path.join(DOCS, page)) as f:
        return f.read()


def headings(text):
    """The headings of a page, outside fenced code blocks (whose `#` lines are comments)."""
    return HEADING.findall(re.sub(r"^```.*?^```", "", text, flags=re.M | re.S))


def heading_anchors(text):
    """GitHub's anchors for the headings of a page: the heading's text (link targets and code marks dropped),
    lower-cased, without punctuation, spaces as hyphens; a repeated anchor gets -1, -2, ..."""
    anchors, seen = [], {}
    for heading in headings(text):
        words = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").lower()
        anchor = re.sub(r"[^\w\- ]", "", words).replace(" ", "-")
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        anchors.append(anchor if count == 0 else f"{anchor}-{count}")
    return anchors


def paper_sections():
    """{"5": anchor, "4.5": anchor, ...}: the numbered headings of docs/paper.md ("## §5 Hyperparameters")."""
    text = read("paper.md")
    numbers = [re.match(SECTION, heading) for heading in headings(text)]
    return {m.group(1): anchor for m, anchor in zip(numbers, heading_anchors(text)) if m}


def citing_files():
    """Code, tests, examples, README and docs: every file that may cite the paper's reference."""
    files = [os.path.join(ROOT, "README.md")] + [os.path.join(DOCS, p) for p in PAGES]
    for folder in ("minaae", "examples", "tests"):
        for base, _, names in os.walk(os.path.join(ROOT, folder)):
            files += [os.path.join(base, n) for n in sorted(names) if n.endswith(".py")]
    return files


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


@pytest.mark.parametrize("page", PAGES)
def test_links_to_headings_find_them(page):
    for target, anchor in ANCHOR_LINK.findall(read(page)):
        target = target or page
        assert target in PAGES, f"{page}: link to the missing page {target}"
        assert anchor in heading_anchors(read(target)), f"{page}: {target} has no heading #{anchor}"


def test_the_paper_reference_numbers_its_sections():
    sections = paper_sections()
    assert {"1", "2", "3", "4", "5", "6", "7"} <= set(sections), f"docs/paper.md sections: {sorted(sections)}"
    assert {f"4.{row}" for row in range(1, 8)} <= set(sections), "docs/paper.md: §4 needs one subsection per row"


def test_paper_citations_name_existing_sections():
    sections, found = paper_sections(), 0
    for path in citing_files():
        text, name = open(path).read(), os.path.relpath(path, ROOT)
        for citation in CITATION.finditer(text):
            found += 1
            for number in re.findall(SECTION, citation.group(0)):
                assert number in sections, f"{name}: '{citation.group(0)}' cites a section docs/paper.md lacks"
        assert not re.search(r"docs/paper\.md §[\d.]+,? rows? \d", text), f"{name}: cite §4's rows as §4.N"
        for number, anchor in PAPER_LINK.findall(text):
            found += 1
            assert sections.get(number) == anchor, f"{name}: the link to §{number} goes to #{anchor}"
    assert found > 50, f"only {found} citations of docs/paper.md"


def test_nothing_cites_a_paper_summary_outside_the_repository():
    for path in citing_files():
        old = re.search(r".{0,40}PAPER\.md.{0,20}", open(path).read())
        assert not old, f"{os.path.relpath(path, ROOT)}: cite docs/paper.md instead: {old.group(0)!r}"


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
