"""Chinese typography and terminology of what students read: the notebook's markdown (prose
outside math and code), the comments and strings of its code cells, the student's .py files
and the student kit's README.

In Chinese prose the punctuation is full-width (，：；（）？！): a half-width , : ; ? ! touching
a Chinese character, or a half-width parenthesis touching one or holding Chinese text, is an
error. One term per concept: 形状 (not "shape"), 指数移动平均 (the exponential moving
average), LeakyReLU for the function (``LeakyRelu`` is only the class), 标签 for labels.
Math is found the way JupyterLab finds it (tests/test_notebook_math.py's port of removeMath).
"""
import io
import json
import re
import sys
import tokenize
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_notebook_math import remove_math  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "source" / "mlp_optimizers"
NOTEBOOK = SOURCE / "mlp_optimizers.ipynb"
STUDENT_PY = [SOURCE / "utils.py", SOURCE / "public_tests.py"]

CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_IS_CJK = re.compile(f"[{CJK}]")
_PUNCT = re.compile(rf"(?<=[{CJK}])[,:;?!]|[,:;?!](?=[ \t]*[{CJK}])")
_CALL_BEFORE = re.compile(r"[A-Za-z0-9_\].]")  # f(…), x[0](…), obj.m(…): code, even around Chinese words


def _parentheses(text):
    """[(open index, close index or None, is a call)] of the half-width parentheses of text."""
    pairs, stack = [], []
    for i, char in enumerate(text):
        if char == "(":
            stack.append(i)
        elif char == ")":
            start = stack.pop() if stack else None
            pairs.append((start, i))
    pairs += [(start, None) for start in stack]
    return [(start, end, start is not None and start > 0 and bool(_CALL_BEFORE.match(text[start - 1])))
            for start, end in pairs]


def half_width_problems(text):
    """The half-width punctuation marks of text that belong to Chinese prose, with context.

    A , : ; ? ! touching a Chinese character (spaces after it allowed) and a pair of
    parentheses touching one or holding Chinese text are prose; the parentheses of a call such
    as np.random.randn(行数, 列数) and what they hold are code."""
    def context(start, end):
        return "…" + text[max(0, start - 12): end + 12].replace("\n", "⏎") + "…"

    calls = [(start, end) for start, end, call in _parentheses(text) if call and end is not None]
    problems = []
    for m in _PUNCT.finditer(text):
        if not any(start < m.start() < end for start, end in calls):
            problems.append(f"{m.group(0)!r} in {context(m.start(), m.end())}")
    for start, end, call in _parentheses(text):
        if call:
            continue
        touching = ((start is not None and start > 0 and _IS_CJK.match(text[start - 1]))
                    or (start is not None and start + 1 < len(text) and _IS_CJK.match(text[start + 1]))
                    or (end is not None and end > 0 and _IS_CJK.match(text[end - 1]))
                    or (end is not None and end + 1 < len(text) and _IS_CJK.match(text[end + 1])))
        inside = text[start + 1:end] if start is not None and end is not None else ""
        for inner_start, inner_end in calls:  # Chinese words inside a nested call are code
            if start is not None and end is not None and start < inner_start and inner_end < end:
                inside = inside.replace(text[inner_start + 1:inner_end], "")
        holding = _IS_CJK.search(inside)
        if touching or holding:
            where = start if start is not None else end
            problems.append(f"'(…)' in {context(where, (end if end is not None else where) + 1)}")
    return problems


def prose(markdown):
    """Markdown without math, fenced code, code spans, link and image targets, and HTML tags."""
    _, text = remove_math(markdown)
    text = re.sub(r"^(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1[`~]*$", "", text, flags=re.M)
    text = re.sub(r"(`+)[^\n]*?[^`\n]?\1", "", text)
    text = re.sub(r"\]\([^)\s]*\)", "]", text)
    text = re.sub(r"<[^>\n]+>", "", text)
    return re.sub(r"@@\d+@@", "", text)


def code_texts(source):
    """The comments and string literals of Python source (IPython magics dropped)."""
    source = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    texts = []
    for token in tokenize.generate_tokens(io.StringIO(source + "\n").readline):
        if token.type in (tokenize.COMMENT, tokenize.STRING):
            texts.append(token.string)
        elif getattr(tokenize, "FSTRING_MIDDLE", None) == token.type:
            texts.append(token.string)
    return texts


def cells():
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    for i, cell in enumerate(nb["cells"]):
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        yield i, cell["cell_type"], source


def test_markdown_prose_uses_full_width_punctuation():
    problems = [f"cell {i}: {p}" for i, kind, source in cells() if kind == "markdown"
                for p in half_width_problems(prose(source))]
    assert not problems, "half-width punctuation in Chinese prose:\n" + "\n".join(problems)


def test_code_cell_comments_and_strings_use_full_width_punctuation():
    problems = [f"cell {i}: {p}" for i, kind, source in cells() if kind == "code"
                for text in code_texts(source) for p in half_width_problems(text)]
    assert not problems, "half-width punctuation in Chinese comments or strings:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", STUDENT_PY, ids=lambda p: p.name)
def test_student_python_files_use_full_width_punctuation(path):
    problems = [p for text in code_texts(path.read_text(encoding="utf-8")) for p in half_width_problems(text)]
    assert not problems, f"half-width punctuation in Chinese text of {path.name}:\n" + "\n".join(problems)


def test_student_kit_readme_uses_full_width_punctuation():
    sys.path.insert(0, str(ROOT / "scripts"))
    import student_kit
    problems = half_width_problems(prose(student_kit.README))
    assert not problems, "half-width punctuation in the kit's README:\n" + "\n".join(problems)


# One term per concept: (pattern that must not occur, the term to use instead). Code spans are
# not prose, so the class `LeakyRelu` is fine in backticks; in code it is the class's name.
TERMS = [
    (re.compile(r"\bshape\b", re.I), "形状"),
    (re.compile(r"指数加权"), "指数移动平均"),
    (re.compile(r"监督数据"), "标签"),
    (re.compile(r"\bHint\b"), "提示"),
    (re.compile(r"正向传播"), "前向传播"),
    (re.compile(r"交叉熵误差"), "交叉熵损失"),
    (re.compile(r"正规化"), "归一化"),
    # alpha is the learning rate (学习率); what a parameter moves in one update is its 移动量
    (re.compile(r"步长"), "学习率（α）或移动量（每次更新参数移动的距离）"),
]
PROSE_ONLY_TERMS = [(re.compile(r"LeakyRelu(?!\d)"), "LeakyReLU（类名 `LeakyRelu` 写在代码格式里）")]


def test_one_term_per_concept():
    problems = []
    for i, kind, source in cells():
        if kind == "markdown":
            texts, terms = [prose(source)], TERMS + PROSE_ONLY_TERMS
        else:
            texts, terms = [t for t in code_texts(source) if re.search(f"[{CJK}]", t)], TERMS
        problems += [f"cell {i}: {m.group(0)!r} -> {term}"
                     for text in texts for pattern, term in terms for m in pattern.finditer(text)]
    assert not problems, "use one term per concept:\n" + "\n".join(problems)


@pytest.mark.parametrize("text, bad", [
    ("网络(MLP)的输入", 1), ("标签:", 1), ("SGD: 最终", 1), ("例如,这样", 1), ("（约 2 行）", 0),
    ("形状 (N, M)，即", 0), ("W：(D, M)，b：(M,)", 0), ("print('x:', y)", 0), ("(例如 0.01)", 1),
    ("是吗?", 1), ("f(x, y) = x**2", 0), ("np.random.randn(行数, 列数)，再", 0), ("sqrt(累加值)", 0),
    ("（例如 (N, M) 这样）", 0), ("网络 (例如这个) 很小", 1),
])
def test_the_checker_itself(text, bad):
    assert len(half_width_problems(text)) >= bad and (bad > 0) == bool(half_width_problems(text)), \
        half_width_problems(text)


def test_prose_drops_math_and_code():
    assert prose("a $x, y$ and `a:b` 和 $$\\frac{a}{b}$$ ![图](images/a,b.png)") == "a  and  和  ![图]"
