"""User-defined tasks: SequenceTask + register, and task files loaded with load_task_file."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from algolens import tasks
from algolens.tasks import SequenceTask, TaskError


@pytest.fixture
def registered():
    """Register tasks through this fixture's list; they are unregistered afterwards."""
    before = set(tasks.names())
    yield
    for name in set(tasks.names()) - before:
        tasks.unregister(name)
    assert set(tasks.names()) == before


def running_max(xs: list) -> list:
    out, m = [], None
    for x in xs:
        m = x if m is None else max(m, x)
        out.append(m)
    return out


def make(name: str = "User_Running_Max", alphabet=(0, 1, 2), length: int = 5, reference=None,
         **kw) -> SequenceTask:
    return SequenceTask(name=name, alphabet=list(alphabet), length=length,
                        reference=reference or running_max, **kw)


# ------------------------------------------------------------------ good definitions
def test_register_and_get(registered) -> None:
    task = tasks.register(make(description="running max"))
    assert tasks.get("User_Running_Max") is task
    assert "User_Running_Max" in tasks.names()
    assert tasks.names()[:62] == tasks.benchmark_names()  # benchmark first, user tasks after
    assert task.reference([0, 2, 1]) == [0, 2, 2]
    xs = task.sample(4, np.random.default_rng(0))
    assert xs.shape == (4, 5) and np.isin(xs, [0, 1, 2]).all()


def test_fixture_removed_the_previous_tests_task() -> None:
    with pytest.raises(TaskError, match="unknown task"):
        tasks.get("User_Running_Max")


def test_multi_channel_alphabet_gets_tuple_inputs(registered) -> None:
    seen = []

    def add_pairs(xs):
        seen.extend(xs)
        return [a + b for a, b in xs]

    task = tasks.register(make("User_Add_Pairs", [[0, 1], [0, 1, 2]], reference=add_pairs))
    assert task.n_channels == 2 and task.channels == ((0, 1), (0, 1, 2))
    assert all(isinstance(x, tuple) and len(x) == 2 for x in seen)
    xs = task.sample(3, 1)
    assert xs.shape == (3, 5, 2)
    assert task.targets(xs).tolist() == (xs[..., 0] + xs[..., 1]).tolist()
    assert (0, 2) in task.symbols and len(task.symbols) == 6


def test_tuple_outputs_with_output_dim(registered) -> None:
    def both(xs):
        return [(x, -x) for x in xs]

    task = tasks.register(make("User_Both", reference=both, output_dim=2))
    ys = task.targets(np.array([[1, 2, 0, 0, 1]]))
    assert ys.shape == (1, 5, 2)
    assert ys[0, :, 1].tolist() == [-1, -2, 0, 0, -1]


def test_tuple_outputs_without_output_dim_fail(registered) -> None:
    with pytest.raises(TaskError, match="output_dim"):
        tasks.register(make("User_Both", reference=lambda xs: [(x, x) for x in xs]))


def test_numpy_ints_in_alphabet_and_outputs_are_fine(registered) -> None:
    task = tasks.register(make("User_Np", np.arange(3), reference=lambda xs: list(np.cumsum(xs))))
    assert task.channels == ((0, 1, 2),)


def test_custom_sampler(registered) -> None:
    def ones(n, rng, length):
        return np.ones((n, length), dtype=int)

    task = tasks.register(make("User_Ones", sampler=ones))
    assert (task.sample(2, 0) == 1).all()


def test_task_is_hashable() -> None:
    assert hash(tasks.get("Parity_Last2")) == hash(tasks.get("Parity_Last2"))
    assert len({tasks.get("Parity_Last2"), tasks.get("Parity_Last3")}) == 2


# ------------------------------------------------------------------ bad definitions
BAD_REFERENCES = [
    pytest.param(lambda xs: xs[:-1], "returned 4 outputs for 5 inputs", id="too-short"),
    pytest.param(lambda xs: xs + [0], "returned 6 outputs", id="too-long"),
    pytest.param(lambda xs: [x / 2 for x in xs], "must be an int", id="floats"),
    pytest.param(lambda xs: [x > 0 for x in xs], "must be an int", id="bools"),
    pytest.param(lambda xs: [str(x) for x in xs], "must be an int", id="strings"),
    pytest.param(lambda xs: np.array(xs), "returned a ndarray", id="numpy-array"),
    pytest.param(lambda xs: 3, "returned a int", id="scalar"),
    pytest.param(lambda xs: [1 // 0], "reference failed", id="raises"),
    pytest.param(lambda xs: [int(np.random.randint(0, 1000)) for _ in xs], "pure function",
                 id="random"),
]


@pytest.mark.parametrize(("reference", "message"), BAD_REFERENCES)
def test_bad_reference_fails_at_registration(registered, reference, message) -> None:
    with pytest.raises(TaskError, match=message) as info:
        tasks.register(make("User_Bad", reference=reference))
    assert "User_Bad" in str(info.value)
    assert "User_Bad" not in tasks.names()


BAD_SPECS = [
    pytest.param({"alphabet": []}, "alphabet is empty", id="empty-alphabet"),
    pytest.param({"alphabet": [[0, 1], []]}, "channel 1 is empty", id="empty-channel"),
    pytest.param({"alphabet": [0, 1.5]}, "1.5 in channel 0 is not an int", id="float-symbol"),
    pytest.param({"alphabet": [True, False]}, "not an int", id="bool-symbol"),
    pytest.param({"alphabet": ["a", "b"]}, "'a' in channel 0 is not an int", id="str-symbol"),
    pytest.param({"alphabet": [[0, 1], ["x"]]}, "channel 1 is not an int", id="str-channel"),
    pytest.param({"alphabet": [[0, 1], 2]}, "mixes ints and lists", id="mixed-channels"),
    pytest.param({"alphabet": 5}, "must be a list", id="int-alphabet"),
    pytest.param({"alphabet": "01"}, "must be a list", id="str-alphabet"),
    pytest.param({"alphabet": [0, 1, 1]}, "repeats a value", id="duplicate-symbol"),
    pytest.param({"name": "1bad"}, "is not valid", id="name-starts-with-digit"),
    pytest.param({"name": "has space"}, "is not valid", id="name-with-space"),
    pytest.param({"name": ""}, "is not valid", id="empty-name"),
    pytest.param({"length": 0}, "length must be a positive int", id="zero-length"),
    pytest.param({"length": 2.5}, "length must be a positive int", id="float-length"),
    pytest.param({"reference": "sum"}, "reference must be a function", id="reference-not-callable"),
    pytest.param({"output_dim": 0}, "output_dim must be a positive int", id="output-dim-0"),
]


@pytest.mark.parametrize(("kwargs", "message"), BAD_SPECS)
def test_bad_spec_fails_when_built(kwargs, message) -> None:
    spec = {"name": "User_Bad", "alphabet": [0, 1], "length": 4, "reference": running_max} | kwargs
    with pytest.raises(TaskError, match=message):
        SequenceTask(**spec)


def test_set_alphabet_is_accepted() -> None:
    assert make(alphabet={2, 0, 1}).channels == ((0, 1, 2),)


def test_register_rejects_non_task() -> None:
    with pytest.raises(TaskError, match="takes a SequenceTask"):
        tasks.register({"name": "x"})


def test_sampler_outside_alphabet_fails(registered) -> None:
    with pytest.raises(TaskError, match="not in the alphabet"):
        tasks.register(make("User_Bad", sampler=lambda n, rng, L: np.full((n, L), 7)))


def test_sampler_wrong_shape_fails(registered) -> None:
    with pytest.raises(TaskError, match="sampler returned shape"):
        tasks.register(make("User_Bad", sampler=lambda n, rng, L: np.zeros((n, L + 1))))


def test_duplicate_name_fails(registered) -> None:
    tasks.register(make())
    with pytest.raises(TaskError, match="already registered"):
        tasks.register(make())
    tasks.register(make(), replace=True)  # an explicit replacement is fine


def test_benchmark_task_cannot_be_replaced_or_removed() -> None:
    with pytest.raises(TaskError, match="benchmark task"):
        tasks.register(make("Parity_Last2"), replace=True)
    with pytest.raises(TaskError, match="benchmark task"):
        tasks.unregister("Parity_Last2")
    assert tasks.get("Parity_Last2").reference([1, 1]) == [1, 0]


def test_unknown_name_suggests_close_match() -> None:
    with pytest.raises(TaskError, match=r"did you mean 'Parity_Last3'"):
        tasks.get("Parity_Lst3")
    assert tasks.get("parity_last3").name == "Parity_Last3"


# ------------------------------------------------------------------ task files
GOOD_FILE = """
from algolens.tasks import SequenceTask, register

def count_ones(xs):
    out, c = [], 0
    for x in xs:
        c += x
        out.append(c)
    return out

register(SequenceTask(name="File_Count_Ones", alphabet=[0, 1], length=6, reference=count_ones,
                      description="number of ones so far"))
"""


def write(tmp_path: Path, text: str, name: str = "my_tasks.py") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def test_load_task_file(registered, tmp_path) -> None:
    path = write(tmp_path, GOOD_FILE)
    assert tasks.load_task_file(path) == ["File_Count_Ones"]
    assert tasks.get("File_Count_Ones").reference([1, 0, 1]) == [1, 1, 2]
    # loading the same file again replaces its own tasks instead of failing
    assert tasks.load_task_file(str(path)) == ["File_Count_Ones"]


def test_two_files_with_one_name_conflict(registered, tmp_path) -> None:
    tasks.load_task_file(write(tmp_path, GOOD_FILE, "a.py"))
    with pytest.raises(TaskError, match="already registered.*a.py"):
        tasks.load_task_file(write(tmp_path, GOOD_FILE, "b.py"))


def test_missing_task_file(tmp_path) -> None:
    with pytest.raises(TaskError, match="does not exist"):
        tasks.load_task_file(tmp_path / "nope.py")


def test_task_file_is_a_directory(tmp_path) -> None:
    with pytest.raises(TaskError, match="is a directory"):
        tasks.load_task_file(tmp_path)


def test_task_file_syntax_error(tmp_path) -> None:
    path = write(tmp_path, "x = 1\ndef broken(:\n")
    with pytest.raises(TaskError, match=r"syntax error at line 2"):
        tasks.load_task_file(path)


def test_task_file_registering_nothing(tmp_path) -> None:
    with pytest.raises(TaskError, match="registered no task"):
        tasks.load_task_file(write(tmp_path, "X = 1\n"))


def test_task_file_raising(tmp_path) -> None:
    with pytest.raises(TaskError, match="failed while loading: .*ZeroDivisionError"):
        tasks.load_task_file(write(tmp_path, "1 / 0\n"))


def test_task_file_with_bad_task_names_the_file(registered, tmp_path) -> None:
    bad = GOOD_FILE + "\nregister(SequenceTask(name='File_Bad', alphabet=[0, 1], length=3, " \
        "reference=lambda xs: xs[:1]))\n"
    path = write(tmp_path, bad)
    with pytest.raises(TaskError, match=r"my_tasks.py.*File_Bad.*returned 1 outputs"):
        tasks.load_task_file(path)
    # the half-loaded file left nothing behind
    assert "File_Count_Ones" not in tasks.names()
