"""The contracts (bench/contracts) over every registered architecture and task: the same
functions `compbench check` runs. Deliberately broken factories fail them with the property
named, through the function and through the command; bad arguments are usage errors."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import module_on_path

import baselines
import tasks
from bench.cli import main as cli
from bench.contracts import arch as arch_contract
from bench.contracts import task as task_contract
from bench.contracts.property import BadSubject, Status, holds, verdict
from bench.run.threads import torch_threads

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")

ARCHS = baselines.names()
TASK_CASES = [(name, r) for name in tasks.names() for r in tasks.get(name).supported_resolutions]

BROKEN_SOURCE = '''
"""Deliberately broken factories for compbench's contract tests."""

import numpy as np
import torch
from scipy import ndimage

import baselines
from tasks.length import LengthTask


class Altered(torch.nn.Module):
    """conv-heatmap-rf5 with one thing changed in its forward (`alter`)."""

    def __init__(self, task, width, name, alter):
        super().__init__()
        self.inner = baselines.get("conv-heatmap-rf5", task, width=width)
        self.alter = alter
        self.config = {"name": name, "hparams": {"width": width}}

    def forward(self, x, sigma, tokens, mask):
        return self.alter(self, x, sigma, tokens, mask)

    def features(self, x, sigma, tokens, mask):
        return self.inner.features(x, sigma, tokens, mask)


def batch_norm(task, *, width: int = 32):
    """Its output goes through a BatchNorm (batch statistics in training)."""
    model = Altered(task, width, "cbtest_contracts:batch_norm",
                    lambda m, *a: m.norm(m.inner(*a)))
    model.norm = torch.nn.BatchNorm2d(3)
    return model


def mixes_batch(task, *, width: int = 32):
    """Each output gets a tenth of the batch's mean output."""
    def alter(m, *a):
        D = m.inner(*a)
        return D + 0.1 * D.mean(0, keepdim=True)
    return Altered(task, width, "cbtest_contracts:mixes_batch", alter)


def detached_tokens(task, *, width: int = 32):
    """Reads the tokens through .detach(): right values, a zero derivative."""
    return Altered(task, width, "cbtest_contracts:detached_tokens",
                   lambda m, x, sigma, tokens, mask: m.inner(x, sigma, tokens.detach(), mask))


def raising(task, *, width: int = 32):
    """Its factory raises."""
    raise RuntimeError("deliberately broken factory")


class OverlappingRegions(LengthTask):
    """`length` whose regions reach two pixels further: neighbours' regions overlap."""

    name = "cbtest-overlapping"

    def regions(self, scenes):
        out = super().regions(scenes)
        grown = [[ndimage.binary_dilation(r, iterations=2) if r.any() else r for r in slots]
                 for slots in out]
        return np.array(grown, dtype=bool).reshape(out.shape)


def overlapping_regions(resolution: int = 32):
    """The task with overlapping regions."""
    return OverlappingRegions(resolution)


class WithToyProbe(LengthTask):
    """`length` declaring an optional capability the contract does not know yet."""

    name = "cbtest-toy-probe"

    def toy_probe(self):
        return "probed"


def toy_probe_task(resolution: int = 32):
    """The task with a toy probe."""
    return WithToyProbe(resolution)
'''


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    """The module `cbtest_contracts` of deliberately broken factories, on sys.path."""
    yield from module_on_path(tmp_path_factory, "cbtest_contracts", BROKEN_SOURCE)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One torch thread: small models run faster so, and the suite shares the CPU."""
    with torch_threads(1):
        yield


def statuses(properties) -> dict[str, Status]:
    return {p.name: p.status for p in properties}


def failures(properties) -> set[str]:
    return {p.name for p in properties if p.failed}


@pytest.mark.parametrize("task", ["length", "color"])
@pytest.mark.parametrize("name", ARCHS)
def test_every_architecture_meets_its_contract(name, task):
    properties = arch_contract.check_arch(name, task=task)
    assert holds(properties), [p.line() for p in properties if p.failed]
    status = statuses(properties)
    assert list(status) == ["builds", *(c.__name__ for c in arch_contract.PROPERTIES)]
    # What does not apply says so, and nothing else is left unchecked: attributes only where the
    # tokens have them, features and gradients not for the training-free oracle.
    not_applicable = {n for n, s in status.items() if s is Status.NA}
    expected = {"attributes_move_output"} if task == "length" else set()
    if not baselines.is_trained(name):
        expected |= {"features", "every_parameter_reached"}
    assert not_applicable == expected


@pytest.mark.parametrize(("name", "resolution"), TASK_CASES,
                         ids=[f"{n}-{r}" for n, r in TASK_CASES])
def test_every_task_meets_its_contract(name, resolution):
    properties = task_contract.check_task(name, resolution)
    assert holds(properties), [p.line() for p in properties if p.failed]
    not_applicable = {p.name for p in properties if p.status is Status.NA}
    task = tasks.get(name)
    expected = {check.__name__ for cap in task_contract.CAPABILITIES
                if not cap.declared(task) for check in cap.properties}
    assert not_applicable == expected
    if name == "color-region":  # the one task that declares both capabilities today
        assert not expected


@pytest.mark.parametrize(("factory", "failing"), [
    ("batch_norm", {"no_batch_norm"}),  # eval-mode outputs hide it: only the structure shows
    ("mixes_batch", {"batch_independent", "vmap_matches_batch"}),
    ("detached_tokens", {"tokens_jvp_matches_fd"}),
    ("raising", {"builds"}),
])
def test_a_broken_architecture_fails_with_the_property_named(broken, factory, failing):
    path = f"cbtest_contracts:{factory}"
    assert failures(arch_contract.check_arch(path)) == failing
    result = CliRunner().invoke(cli, ["check", "arch", path])
    assert result.exit_code == 1, result.output
    assert all(f"fail  {name}" in result.output for name in failing), result.output
    assert f"the contract fails: {', '.join(sorted(failing))}" in result.output


def test_a_task_with_overlapping_regions_fails_regions_disjoint(broken):
    path = "cbtest_contracts:overlapping_regions"
    assert failures(task_contract.check_task(path)) == {"regions_disjoint"}
    result = CliRunner().invoke(cli, ["check", "task", path])
    assert result.exit_code == 1 and "fail  regions_disjoint" in result.output, result.output


def test_a_capability_adds_properties_where_a_task_declares_it(broken, monkeypatch):
    def toy_probe_runs(s):
        """The task's binding probe runs."""
        return verdict(s.task.toy_probe() == "probed", "probe ran", "probed")

    probe = task_contract.Capability("toy probe", lambda t: hasattr(t, "toy_probe"),
                                     "a toy_probe method", (toy_probe_runs,))
    monkeypatch.setattr(task_contract, "CAPABILITIES", [*task_contract.CAPABILITIES, probe])
    declared = {p.name: p for p in task_contract.check_task("cbtest_contracts:toy_probe_task")}
    plain = {p.name: p for p in task_contract.check_task("length")}
    assert declared["toy_probe_runs"].status is Status.PASS
    assert plain["toy_probe_runs"].status is Status.NA
    assert "does not declare toy probe (a toy_probe method)" in plain[
        "toy_probe_runs"].measured


def test_the_commands_print_each_property_and_exit_0_when_the_contract_holds():
    result = CliRunner().invoke(cli, ["check", "arch", "conv-heatmap-rf5", "--hparam", "width=8",
                                      "--explain"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "pass  builds" in lines[1] and "width=8" in lines[1]
    assert lines[-1].endswith("the contract holds")
    assert sum(line.startswith(("pass", "n/a")) for line in lines) == 1 + len(
        arch_contract.PROPERTIES)
    assert "in training it normalises with the batch's statistics" in result.output  # --explain
    result = CliRunner().invoke(cli, ["check", "task", "color"])
    assert result.exit_code == 0 and "pass  color_tokens_one_hot" in result.output, result.output


@pytest.mark.parametrize(("args", "message"), [
    (["arch", "unet-flim"], "unknown architecture 'unet-flim' (did you mean 'unet-film'?); "
                            "known: analytic-local, composable"),
    (["arch", "cbtest_no_such_module:factory"], "cannot import 'cbtest_no_such_module'"),
    (["arch", "unet-film", "--hparam", "radius=0.2"], "unknown hparams ['radius'] for "
                                                      "'unet-film'; valid: width"),
    (["arch", "unet-film", "--hparam", "width=12"], "width must be a positive multiple of 8"),
    (["arch", "unet-film", "--hparam", "width=8", "--hparam", "width=16"], "given twice"),
    (["arch", "unet-film", "--task", "lenght"], "did you mean 'length'"),
    (["arch", "unet-film", "--resolution", "20"], "supported: 16, 32, 64, 128"),
    (["task", "lenght"], "unknown task 'lenght' (did you mean 'length'?); known: color"),
    (["task", "length", "--resolution", "24"], "supported: 16, 32, 64, 128"),
    (["task", "cbtest_no_such_module:factory"], "cannot import 'cbtest_no_such_module'"),
])
def test_bad_arguments_exit_2_naming_the_valid_choices(args, message):
    result = CliRunner().invoke(cli, ["check", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert "contract of" not in result.output  # nothing ran


def test_bad_arguments_are_bad_subjects_in_python_too():
    with pytest.raises(BadSubject, match="did you mean 'unet-film'") as err:
        arch_contract.check_arch("unet-flim")
    assert err.value.option == "NAME_OR_PATH"
    with pytest.raises(BadSubject, match="supported: 16, 32, 64, 128"):
        task_contract.check_task("length", resolution=24)
