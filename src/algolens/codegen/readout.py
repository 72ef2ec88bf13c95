"""IR and Python rendering of a reconstructed seq2seq shortcut: per-step reads plus a rule table.

Semantics (shared by ``analysis.transformer.shortcuts.Shortcut.run`` and the generated ``f``):
output step i reads the input symbols at positions ``reads[i]`` (None past the end of the
input) and its own previous output (None at step 0); ``rules[(i, symbols read, previous)]``
is the output symbol, or None for end-of-output; a key never seen falls back to
``default[i]``. Steps stop at ``max_steps``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .ir import ProgramInfo
from .python import _dict_literal, _self_check, docstring_block

Key = tuple          # (step, (symbol or None, ...), previous output or None)


def from_shortcut(shortcut, info: ProgramInfo) -> ReadTableProgram:
    """The IR of an ``analysis.transformer.shortcuts.Shortcut``."""
    return ReadTableProgram(dict(shortcut.reads), dict(shortcut.rules), dict(shortcut.default),
                            shortcut.max_steps, info)


@dataclass(frozen=True)
class ReadTableProgram:
    reads: dict[int, tuple[int, ...]]
    rules: dict[Key, int | None]
    default: dict[int, int | None]
    max_steps: int
    info: ProgramInfo
    form: str = "read-table"

    @property
    def complexity(self) -> int:
        return len(self.rules)


def to_python(program: ReadTableProgram) -> str:
    """Standalone, standard-library-only source defining ``f(xs)`` (deterministic text)."""
    body = "\n".join([
        "# Output step i reads the input at positions _READS[i] and its previous output.",
        _dict_literal("_READS", program.reads), "",
        "# (step, symbols read, previous output) -> output symbol; None ends the output.",
        _dict_literal("_RULES", program.rules), "",
        "# a combination never seen while reconstructing: the step's most common output",
        _dict_literal("_DEFAULT", program.default), "",
        f"_MAX_STEPS = {program.max_steps}", "", "",
        "def f(xs):",
        '    """Run the reconstructed shortcut on the input symbols xs."""',
        "    ys, prev = [], None",
        "    for i in range(_MAX_STEPS):",
        "        seen = tuple(xs[j] if j < len(xs) else None for j in _READS.get(i, ()))",
        "        y = _RULES.get((i, seen, prev), _DEFAULT.get(i))",
        "        if y is None:",
        "            break",
        "        ys.append(y)",
        "        prev = y",
        "    return ys"])
    parts = [_docstring(program), body, _self_check(program.info)]
    return "\n\n\n".join(p.rstrip() for p in parts) + "\n"


def _docstring(p: ReadTableProgram) -> str:
    info = p.info
    lines = [f"{info.task}: a shortcut reconstructed from a trained transformer by algolens.", "",
             f"Task: {info.task}", f"Network: {info.network or 'unknown'}",
             f"Method: {info.method or p.form} (form: {p.form}, {len(p.rules)} rules)",
             f"Verification: {info.verification}", "",
             "Entry point: f(xs) maps a list of input symbols to the list of output symbols.",
             "Standard library only; importing this module has no side effects."]
    return docstring_block(lines)


# ------------------------------------------------------------------ pointer shortcut (traversals)
@dataclass(frozen=True)
class PointerProgram:
    """Output j copies label slot j (the label after the j-th NODE), or slot j + 1 where a
    decision tree over the slot's structural features says the model's pointer slips."""

    tree: object            # analysis.transformer.pointer.SkipTree
    threshold: float
    node: int
    leaf: int
    info: ProgramInfo
    form: str = "pointer walk + skip tree"

    @property
    def complexity(self) -> int:
        return sum(1 for c in self.tree.left if c < 0)


def from_pointer(shortcut, info: ProgramInfo) -> PointerProgram:
    return PointerProgram(shortcut.tree, shortcut.threshold, shortcut.node, shortcut.leaf, info)


def pointer_to_python(program: PointerProgram) -> str:
    """Standalone source defining ``f(xs)``: the skip tree as nested ifs (deterministic text)."""
    from ..analysis.transformer.pointer import FEATURES
    t = program.tree
    lines = ["def _p_skip(" + ", ".join(FEATURES) + "):",
             '    """P(the model reads slot j + 1 instead of slot j), from the build inputs."""']

    def emit(n: int, ind: int) -> None:
        pad = "    " * ind
        if t.left[n] < 0:
            lines.append(f"{pad}return {t.p_skip[n]!r}")
            return
        lines.append(f"{pad}if {FEATURES[t.feature[n]]} <= {t.threshold[n]!r}:")
        emit(t.left[n], ind + 1)
        lines.append(f"{pad}else:")
        emit(t.right[n], ind + 1)
    emit(0, 1)
    body = "\n".join([
        f"_NODE, _LEAF, _THRESHOLD = {program.node}, {program.leaf}, {program.threshold!r}", "",
        "\n".join(lines), "", "",
        "def f(xs):",
        '    """Run the reconstructed pointer shortcut on the input symbols xs."""',
        "    sl = [p + 1 for p, v in enumerate(xs) if v == _NODE]",
        "    ys = []",
        "    for j, p in enumerate(sl):",
        "        def gap(a):",
        "            return sl[a + 1] - sl[a] if 0 <= a and a + 1 < len(sl) else 0",
        "        before = sum(1 for v in xs[:p] if v == _LEAF)",
        "        after = sum(1 for v in xs[p:] if v == _LEAF)",
        "        skip = _p_skip(j, p, before, gap(j - 1), gap(j), gap(j + 1), gap(j + 2), len(sl),",
        "                       len(xs), after) >= _THRESHOLD",
        "        ys.append(xs[sl[min(j + 1, len(sl) - 1)] if skip else p])",
        "    return ys"])
    doc = ReadTableProgram({}, {}, {}, 0, program.info, form=program.form)
    parts = [_docstring(doc).replace("0 rules", f"{program.complexity} tree leaves"), body,
             _self_check(program.info)]
    return "\n\n\n".join(p.rstrip() for p in parts) + "\n"


# ------------------------------------------------------------------ attention-vote shortcut
@dataclass(frozen=True)
class VoteProgram:
    """Output j = label of slot j unless another label's vote comes within tau of it; the votes
    are the model's layer-0 attention (recomputed from its embeddings, ln1, W_Q, W_K) spread
    over labels by token kind (``analysis.transformer.vote``)."""

    shortcut: object        # analysis.transformer.vote.VoteShortcut
    info: ProgramInfo
    form: str = "layer-0 attention vote"

    @property
    def complexity(self) -> int:
        """Fitted numbers beyond the model's own layer-0 weights: the vote weights and tau."""
        return int(self.shortcut.vote.size) + 1


def from_vote(shortcut, info: ProgramInfo) -> VoteProgram:
    return VoteProgram(shortcut, info)


def _list_literal(name: str, value) -> str:
    """``name = [...]`` of numbers or nested lists of them: one innermost list per line,
    wrapped at 96 columns."""
    return f"{name} = " + _nested(value, "")


def _nested(v, ind: str) -> str:
    if v and isinstance(v[0], (list, tuple)):
        return "[\n" + "".join(f"{ind}    {_nested(u, ind + '    ')},\n" for u in v) + ind + "]"
    lines, cur = [], "["
    for x in v:
        it = repr(float(x)) + ", "
        if len(ind) + 4 + len(cur) + len(it) > 96:
            lines.append(cur.rstrip())
            cur = " "
        cur += it
    return f"\n{ind}    ".join(lines + [cur.rstrip(", ") + "]"])


_VOTE_BODY = '''
def _normed(pos, tok):
    x = [e + p for e, p in zip(_W_E[tok], _W_POS[pos])]
    if not _LAYER_NORM:
        return x
    mu = sum(x) / len(x)
    x = [v - mu for v in x]
    scale = (sum(v * v for v in x) / len(x) + 1e-5) ** 0.5
    return [v / scale * w + b for v, w, b in zip(x, _LN_W, _LN_B)]


_CACHE = {}


def _project(which, pos, tok):
    """Per head, the layer-0 query (which=0, already / sqrt(d_head)) or key (which=1)."""
    key = (which, pos, tok)
    if key not in _CACHE:
        x, mats = _normed(pos, tok), (_W_Q, _W_K)[which]
        out = []
        for m in mats:
            v = [sum(x[d] * m[d][e] for d in range(len(x))) for e in range(len(m[0]))]
            out.append([u / len(v) ** 0.5 for u in v] if which == 0 else v)
        _CACHE[key] = out
    return _CACHE[key]


def _attention(pos, tok):
    """Layer-0 attention [head][key] of the last (pos, tok) on every one of them."""
    qs = _project(0, pos[-1], tok[-1])
    ks = [_project(1, p, t) for p, t in zip(pos, tok)]
    out = []
    for h, q in enumerate(qs):
        s = [sum(a * b for a, b in zip(q, k[h])) for k in ks]
        top = max(s)
        e = [math.exp(v - top) for v in s]
        z = sum(e)
        out.append([v / z for v in e])
    return out


def _attributions(xs):
    """Per input position, the (kind, label) votes its attention casts."""
    n, labels = len(xs), [v not in (_NODE, _LEAF) for v in xs]
    prev_l, next_l, last = [None] * n, [None] * n, None
    for p in range(n):
        prev_l[p], last = last, (xs[p] if labels[p] else last)
    last = None
    for p in range(n - 1, -1, -1):
        next_l[p], last = last, (xs[p] if labels[p] else last)
    out = []
    for p, v in enumerate(xs):
        if labels[p]:
            out.append([(0, v)])
        elif v == _NODE:
            out.append([(1, next_l[p])] if next_l[p] is not None else [])
        else:
            out.append([(k, lab) for k, lab in ((2, next_l[p]), (3, prev_l[p]))
                        if lab is not None])
    return out


def _scores(xs, prev, attr):
    """The vote of every label at step len(prev)."""
    pos = list(range(len(xs))) + [_W + i for i in range(len(prev) + 1)]
    tok = [_IN_IDS[v] for v in xs] + [_SEP] + [_OUT_IDS[v] for v in prev]
    att = _attention(pos, tok)
    s = [0.0] * _N_LABELS
    for h, a in enumerate(att):
        for p, votes in enumerate(attr):
            for kind, lab in votes:
                s[lab] += _VOTE[kind][h] * a[p]
        for i, lab in enumerate(prev):
            s[lab] += _VOTE[4][h] * a[len(xs) + 1 + i]
    return s


def f(xs):
    """Run the reconstructed attention-vote shortcut on the input symbols xs."""
    attr, ys, slipped = _attributions(xs), [], False
    for p, v in enumerate(xs):
        if v != _NODE:
            continue
        pointer = xs[p + 1]
        s = _scores(xs, ys, attr)
        if slipped:             # after the first slip: the vote's argmax
            ys.append(max(range(_N_LABELS), key=lambda lab: s[lab]))
            continue
        best = max((lab for lab in range(_N_LABELS) if lab != pointer), key=lambda lab: s[lab])
        ys.append(best if s[best] > s[pointer] - _TAU else pointer)
        slipped = ys[-1] != pointer
    return ys
'''


def vote_to_python(program: VoteProgram) -> str:
    """Standalone, standard-library-only source defining ``f(xs)`` (deterministic text)."""
    sc = program.shortcut
    l0 = sc.layer0
    H = sc.vote.size // 5
    n_tok = max(set(sc.in_ids.values()) | set(sc.out_ids.values()) | {sc.sep}) + 1
    consts = "\n".join([
        "import math", "",
        "# pointer structure and token ids of the model's vocabulary",
        f"_NODE, _LEAF, _W, _SEP, _N_LABELS = {sc.node}, {sc.leaf}, {sc.width}, {sc.sep}, "
        f"{sc.n_labels}",
        _dict_literal("_IN_IDS", sc.in_ids), _dict_literal("_OUT_IDS", sc.out_ids), "",
        "# vote weights [kind][head]: label, NODE -> next label, LEAF -> next label,",
        "# LEAF -> previous label, earlier output; another label within _TAU of slot j's wins",
        "# (until the first slip; after it every step emits the vote's argmax)",
        _list_literal("_VOTE", sc.vote.reshape(5, H).tolist()),
        f"_TAU = {float(sc.tau)!r}", "",
        "# the model's layer-0 attention: embeddings, block-0 LayerNorm, W_Q, W_K (6 digits)",
        f"_LAYER_NORM = {bool(l0.layer_norm)!r}",
        _list_literal("_W_E", l0.W_E[:n_tok].tolist()),
        _list_literal("_W_POS", l0.W_pos.tolist()),
        _list_literal("_LN_W", l0.ln_w.tolist()), _list_literal("_LN_B", l0.ln_b.tolist()),
        _list_literal("_W_Q", l0.W_Q.tolist()), _list_literal("_W_K", l0.W_K.tolist())])
    doc = ReadTableProgram({}, {}, {}, 0, program.info, form=program.form)
    parts = [_docstring(doc).replace("0 rules", f"{program.complexity} fitted numbers"),
             consts, _VOTE_BODY.strip(), _self_check(program.info)]
    return "\n\n\n".join(p.rstrip() for p in parts) + "\n"
