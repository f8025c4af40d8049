"""The similarity report (autograder.similarity) on a class written into a real course tree:
the release notebook with its START CODE HERE regions filled in.

The class: nine honest students, each answering every region in one of three styles (the
reference solution, the catalogue's valid alternatives such as the negative velocity and the
folded Adam factors, and other honest styles: in-place ufuncs, loops, einsum, helper names),
chosen so that two honest students share the style of at most about a third of the regions;
one student who copied an honest student's notebook, and one who copied another's and renamed
the variables and rewrote the comments. The two copied pairs must rank first and stand out
from the class's baseline; no honest pair may. A hostile student (HTML in the folder name and
the code, a region of 150 kB) must come out escaped and cut.
"""
import hashlib
import json
import re
from pathlib import Path

import nbformat
import pytest

from autograder import similarity
from autograder.course import ASSIGNMENT, RELEASE_DIR

STYLES = [  # per region, in the notebook's order: three honest answers
    ["params['W2'] = (np.random.randn(hidden_size, hidden_size) * weight_init_std).astype(dtype)\n"
     "params['b2'] = np.zeros(hidden_size, dtype=dtype)\n"
     "params['W3'] = (np.random.randn(hidden_size, output_size) * weight_init_std).astype(dtype)\n"
     "params['b3'] = np.zeros(output_size, dtype=dtype)",
     "for name, (rows, cols) in (('2', (hidden_size, hidden_size)), ('3', (hidden_size, output_size))):\n"
     "    params['W' + name] = (weight_init_std * np.random.randn(rows, cols)).astype(dtype)\n"
     "    params['b' + name] = np.zeros(cols, dtype=dtype)",
     "shapes = [(hidden_size, hidden_size), (hidden_size, output_size)]\n"
     "i = 2\n"
     "for shape in shapes:\n"
     "    w = np.random.randn(*shape)\n"
     "    params[f'W{i}'] = np.asarray(w * weight_init_std, dtype=dtype)\n"
     "    params[f'b{i}'] = np.zeros((shape[1],), dtype)\n"
     "    i += 1"],
    ["out = np.where(self.mask, self.alpha * x, x)",
     "out[self.mask] = out[self.mask] * self.alpha",
     "scale = np.ones_like(x)\nscale[self.mask] = self.alpha\nout = x * scale"],
    ["dx = np.where(self.mask, self.alpha * dout, dout)",
     "dx = dout.copy()\ndx[self.mask] *= self.alpha",
     "factor = np.where(self.mask, self.alpha, 1.0)\ndx = factor * dout"],
    ["out = np.dot(x, self.W) + self.b",
     "out = x @ self.W\nout = out + self.b[np.newaxis, :]",
     "out = np.einsum('nd,dm->nm', x, self.W) + self.b"],
    ["self.dW = np.dot(self.x.T, dout)\nself.db = np.sum(dout, axis=0)",
     "self.db = dout.sum(axis=0)\nself.dW = self.x.T @ dout",
     "self.dW = np.einsum('nd,nm->dm', self.x, dout)\nself.db = np.einsum('nm->m', dout)"],
    ["pred = layer.forward(pred)",
     "out = layer.forward(pred)\npred = out",
     "forward = layer.forward\npred = forward(pred)"],
    ["pred = self.predict(x)\nloss = self.lastLayer.forward(pred, y)",
     "loss = self.lastLayer.forward(self.predict(x), y)",
     "scores = self.predict(x)\nlast = self.lastLayer\nloss = last.forward(scores, y)"],
    ["self.grads_squared[key] += grads[key] * grads[key]\n"
     "params[key] -= self.learning_rate * grads[key] / (np.sqrt(self.grads_squared[key]) + self.epsilon)",
     "g = grads[key]\nself.grads_squared[key] += np.square(g)\n"
     "step = g / (np.sqrt(self.grads_squared[key]) + self.epsilon)\nparams[key] -= self.learning_rate * step",
     "self.grads_squared[key] += grads[key] ** 2\ndenom = self.grads_squared[key] ** 0.5 + self.epsilon\n"
     "np.subtract(params[key], self.learning_rate * grads[key] / denom, out=params[key])"],
    ["self.grads_squared[key] = self.beta * self.grads_squared[key] + (1 - self.beta) * grads[key] * grads[key]\n"
     "params[key] -= self.learning_rate * grads[key] / (np.sqrt(self.grads_squared[key]) + self.epsilon)",
     "g = grads[key]\nu = self.grads_squared[key]\nu *= self.beta\nu += (1 - self.beta) * np.square(g)\n"
     "params[key] -= self.learning_rate * g / (np.sqrt(u) + self.epsilon)",
     "self.grads_squared[key] = self.beta * self.grads_squared[key] + (1.0 - self.beta) * grads[key] ** 2\n"
     "params[key] -= self.learning_rate / (self.grads_squared[key] ** 0.5 + self.epsilon) * grads[key]"],
    ["self.v[key] = self.beta * self.v[key] + self.learning_rate * grads[key]\nparams[key] -= self.v[key]",
     "v = self.v[key]\nv *= self.beta\nv += self.learning_rate * grads[key]\n"
     "np.subtract(params[key], v, out=params[key])",
     "self.v[key] = self.beta * self.v[key] - self.learning_rate * grads[key]\nparams[key] += self.v[key]"],
    ["self.v[key] = self.beta * self.v[key] + self.learning_rate * grads[key]\n"
     "params[key] -= self.beta * self.v[key] + self.learning_rate * grads[key]",
     "self.v[key] *= self.beta\nself.v[key] += self.learning_rate * grads[key]\n"
     "lookahead = self.beta * self.v[key] + self.learning_rate * grads[key]\nparams[key] -= lookahead",
     "g = grads[key]\nvelocity = self.beta * self.v[key] + self.learning_rate * g\nself.v[key] = velocity\n"
     "np.subtract(params[key], self.beta * velocity + self.learning_rate * g, out=params[key])"],
    ["self.v[key] = self.beta1 * self.v[key] + (1 - self.beta1) * grads[key]\n"
     "self.u[key] = self.beta2 * self.u[key] + (1 - self.beta2) * grads[key] * grads[key]\n"
     "v_corrected = self.v[key] / (1 - self.beta1 ** self.t)\n"
     "u_corrected = self.u[key] / (1 - self.beta2 ** self.t)\n"
     "params[key] -= self.learning_rate * v_corrected / (np.sqrt(u_corrected) + self.epsilon)",
     "g = grads[key]\nself.v[key] += (1 - self.beta1) * (g - self.v[key])\n"
     "self.u[key] += (1 - self.beta2) * (g * g - self.u[key])\n"
     "lr_t = self.learning_rate * np.sqrt(1 - self.beta2 ** self.t) / (1 - self.beta1 ** self.t)\n"
     "params[key] -= lr_t * self.v[key] / (np.sqrt(self.u[key]) + self.epsilon * np.sqrt(1 - self.beta2 ** self.t))",
     "m, u = self.v[key], self.u[key]\nm *= self.beta1\nm += (1 - self.beta1) * grads[key]\nu *= self.beta2\n"
     "u += (1 - self.beta2) * np.square(grads[key])\nm_hat = m / (1 - np.power(self.beta1, self.t))\n"
     "u_hat = u / (1 - np.power(self.beta2, self.t))\n"
     "params[key] -= self.learning_rate * m_hat / (np.sqrt(u_hat) + self.epsilon)"],
    ["self.v = {key: np.zeros_like(value) for key, value in params.items()}\n"
     "self.s = {key: np.zeros_like(value) for key, value in params.items()}",
     "self.v, self.s = {}, {}\nfor key, value in params.items():\n    self.v[key] = np.zeros_like(value)\n"
     "    self.s[key] = np.zeros_like(value)",
     "self.v = dict((k, np.zeros(p.shape, dtype=p.dtype)) for k, p in params.items())\n"
     "self.s = {k: np.zeros_like(p) for k, p in self.v.items()}"],
    ["self.v[key] = self.beta1 * self.v[key] + (1 - self.beta1) * grads[key]\n"
     "self.s[key] = self.beta2 * self.s[key] + (1 - self.beta2) * (grads[key] - self.v[key]) ** 2\n"
     "v_corrected = self.v[key] / (1 - self.beta1 ** self.t)\n"
     "s_corrected = self.s[key] / (1 - self.beta2 ** self.t)\n"
     "params[key] -= self.learning_rate * v_corrected / (np.sqrt(s_corrected) + self.epsilon)",
     "g = grads[key]\nm = self.v[key]\nm += (1 - self.beta1) * (g - m)\ndiff = g - m\n"
     "self.s[key] = self.beta2 * self.s[key] + (1 - self.beta2) * diff * diff\n"
     "bc1 = 1 - self.beta1 ** self.t\nbc2 = 1 - self.beta2 ** self.t\n"
     "params[key] -= self.learning_rate * (m / bc1) / (np.sqrt(self.s[key] / bc2) + self.epsilon)",
     "self.v[key] = self.beta1 * self.v[key] + (1.0 - self.beta1) * grads[key]\n"
     "residual = np.square(grads[key] - self.v[key])\nself.s[key] *= self.beta2\n"
     "self.s[key] += (1.0 - self.beta2) * residual\n"
     "step = self.learning_rate * np.sqrt(1 - self.beta2 ** self.t) / (1 - self.beta1 ** self.t)\n"
     "params[key] -= step * self.v[key] / (np.sqrt(self.s[key]) + self.epsilon)"],
]
RENAMES = {"g": "grad_now", "m": "first_moment", "u": "second_moment", "v": "vel", "lookahead": "ahead",
           "velocity": "new_vel", "step": "delta", "denom": "bottom", "residual": "res", "scale": "slope",
           "factor": "gain", "scores": "logits", "last": "final_layer", "shapes": "dims", "w": "weights",
           "shape": "dim", "i": "index", "k": "name", "p": "arr", "bc1": "c1", "bc2": "c2", "lr_t": "rate",
           "diff": "gap", "forward": "fwd", "rows": "n_in", "cols": "n_out", "m_hat": "m_c", "u_hat": "u_c"}
HOSTILE = "x<img src=x onerror=alert(1)>"


def honest(a, b):
    """The regions of honest student (a, b): region r in style (a + b·r) mod 3."""
    return [styles[(a + b * r) % 3] for r, styles in enumerate(STYLES)]


def renamed(regions):
    """regions with every local name renamed and a comment on top of each."""
    pattern = re.compile(r"(?<![\w.'])(" + "|".join(sorted(RENAMES, key=len, reverse=True)) + r")\b(?!')")
    return ["# my own solution\n" + pattern.sub(lambda m: RENAMES[m.group(1)], code) for code in regions]


def notebook_with(regions):
    """The release notebook with its START CODE HERE regions holding regions (in order)."""
    notebook = nbformat.read(RELEASE_DIR / f"{ASSIGNMENT}.ipynb", as_version=4)
    answers = iter(regions)
    for cell in notebook.cells:
        if cell.cell_type != "code" or similarity.START not in cell.source:
            continue
        lines, out, inside = cell.source.splitlines(), [], False
        for line in lines:
            if similarity.START in line:
                out.append(line)
                indent = line[:len(line) - len(line.lstrip())]
                out += [indent + code_line for code_line in next(answers).splitlines()]
                inside = True
            elif similarity.END in line:
                out.append(line)
                inside = False
            elif not inside:
                out.append(line)
        cell.source = "\n".join(out)
    assert next(answers, None) is None
    return notebook


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = tmp_path_factory.mktemp("similarity")
    students = {f"honest-{a}{b}": honest(a, b) for a in range(3) for b in range(3)}
    students["copier"] = list(students["honest-11"])
    students["renamer"] = renamed(students["honest-21"])
    students[HOSTILE] = [""] * 13 + ["x = 1  # </pre><script>alert(2)</script>\n" + "y = 2\n" * 25_000]
    for student, regions in students.items():
        path = course / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(notebook_with(regions), path)
    untouched = course / "submitted" / "untouched" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    untouched.parent.mkdir(parents=True)
    untouched.write_bytes((RELEASE_DIR / f"{ASSIGNMENT}.ipynb").read_bytes())
    release = course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    release.parent.mkdir(parents=True)
    release.write_bytes((RELEASE_DIR / f"{ASSIGNMENT}.ipynb").read_bytes())
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in course.rglob("*") if p.is_file()}
    assert similarity.main(["--course", str(course)]) == 0
    return course, before, json.loads((course / "similarity.json").read_text())


def test_regions_hold_the_students_code_and_the_honest_styles_differ():
    assert similarity.regions_of(["a\n### START CODE HERE ###（约 1 行）\nx = 1\n### END CODE HERE ###\nb"]) == ["x = 1"]
    assert len(STYLES) == 14 and all(len(set(styles)) == 3 for styles in STYLES)
    shared = max(sum(x == y for x, y in zip(honest(*s), honest(*t)))
                 for s in [(a, b) for a in range(3) for b in range(3)]
                 for t in [(a, b) for a in range(3) for b in range(3)] if s != t)
    assert shared <= 5          # of 14 regions


def test_the_copied_pairs_rank_first_and_only_they_stand_out(course):
    _, _, result = course
    pairs = [(p["a"], p["b"]) for p in result["pairs"]]
    assert set(pairs[:2]) == {("copier", "honest-11"), ("honest-21", "renamer")}, result["pairs"][:4]
    flagged = {(p["a"], p["b"]) for p in result["pairs"] if p["flagged"]}
    assert flagged == {("copier", "honest-11"), ("honest-21", "renamer")}, result["pairs"][:6]
    top = result["pairs"][0]
    assert top["score"] > 0.95 and result["pairs"][1]["score"] > 0.8
    assert result["pairs"][2]["score"] < result["pairs"][1]["score"] - 0.1
    assert len(pairs) == len(set(pairs)) == 12 * 11 // 2        # 12 ranked students, every pair once
    assert set(result["unranked"]) == {"untouched"}


def test_the_page_escapes_the_students_text_cuts_big_regions_and_loads_nothing(course):
    course_dir, before, result = course
    page = (course_dir / "similarity.html").read_text(encoding="utf-8")
    assert "<script" not in page.lower() and "<img" not in page.lower() and "http://" not in page and "https://" not in page
    assert html_escaped(HOSTILE) in page
    assert "region 14 over 100 kB: cut" in page
    assert len(page.encode()) < 2_000_000
    assert "<mark>" in page and "honest-21" in page and "not proof" in page
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in course_dir.rglob("*") if p.is_file()}
    assert {p: d for p, d in after.items() if p in before} == before       # nothing of the course changed
    assert {p.name for p in set(after) - set(before)} == {"similarity.html", "similarity.json"}


def html_escaped(text):
    import html
    return html.escape(text)


def test_the_whole_run_is_bounded_in_time(tmp_path):
    with pytest.raises(similarity.SimilarityError, match="more than"):
        similarity.compare_in_child({"a": "x = 1\n" * 10, "b": "y = 2\n" * 10}, "", 1e-9, 1)


def test_odd_notebooks_give_no_code_and_never_fail(tmp_path):
    cases = {"nested": b"[" * 100_000 + b"]" * 100_000, "garbage": b"\xff\xfe not json",
             "odd_cells": json.dumps({"cells": [{"cell_type": "code", "source": [1, None, "x"]}, 7, None]}).encode(),
             "many": nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
                 f"{similarity.START}\nx = 1\n{similarity.END}\n" * 300)])).encode()}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        code = similarity.student_code(name, tmp_path / name)
        assert code.regions == (similarity.MAX_REGIONS if name == "many" else 0), name
    assert "300 regions: only the first 200 compared" in similarity.student_code("many", tmp_path / "many").notes
    (tmp_path / "link").symlink_to(tmp_path / "many")
    assert similarity.student_code("link", tmp_path / "link").notes == ["no notebook"]
