"""What a person meets in a real kernel: completion, the traceback of a failing cell, quiet libraries."""

from __future__ import annotations

import re

import pytest

from kernel import execute, live_kernel

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _complete(kc, code: str) -> list[str]:
    kc.complete(code, len(code))
    while True:
        msg = kc.get_shell_msg(timeout=60)
        if msg["msg_type"] == "complete_reply":
            return msg["content"]["matches"]


@pytest.fixture(scope="module")
def kc(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ux")
    with live_kernel(folder) as client:
        _, reply = execute(
            client, "%load_ext mlops_magics\nimport pandas as pd\napplicants = pd.DataFrame({'a': [1]})"
        )
        assert reply["status"] == "ok"
        yield client


def test_tab_offers_subcommands_flags_and_variables(kc):
    assert {"predict", "list", "status", "logs", "stop"} <= set(_complete(kc, "%deploy "))
    # Jedi reads `%deploy ` as Python: its keywords (and, if, in ...) headed the popup before ours
    assert not {"and", "if", "in", "is", "not", "or"} & set(_complete(kc, "%deploy "))
    assert "--experiment" in _complete(kc, "%track runs --exp")
    assert "runs" in _complete(kc, "%track ru")
    assert "applicants" in _complete(kc, "%drift ")  # a DataFrame where a frame is expected
    assert "run:last" in _complete(kc, "%drift ")
    assert "--clean-names" in _complete(kc, "%%feature v --cle")


def test_a_failing_track_cell_shows_the_cells_own_traceback(kc):
    outputs, reply = execute(kc, "%%track boom\nx = 1\ny = x / 0")
    assert reply["status"] == "error" and reply["ename"] == "ZeroDivisionError"
    error = next(o for o in outputs if o["msg_type"] == "error")
    text = ANSI.sub("", "\n".join(error["traceback"]))
    assert "mlops_magics" not in text and "site-packages" not in text, text
    count = reply["execution_count"]
    assert f"Cell In[{count}], line 2" in text and "y = x / 0" in text  # the cell's label and its own line
    cards = [
        o for o in outputs if o["msg_type"] == "display_data" and "FAILED" in o["data"].get("text/plain", "")
    ]
    assert cards  # the FAILED run card still comes first


def test_the_cell_body_runs_through_ipythons_own_compiler(kc):
    """__future__ flags of the session and IPython's AST transformers apply inside %%track too."""
    setup = ("import ast\nclass Double(ast.NodeTransformer):\n    def visit_Constant(self, node):\n"
             "        return ast.copy_location(ast.Constant(node.value * 2), node) if isinstance(node.value, int) "
             "and not isinstance(node.value, bool) else node\nget_ipython().ast_transformers.append(Double())")  # fmt: skip
    execute(kc, setup)
    try:
        outputs, reply = execute(kc, "%%track transformed\nseven = 7\nseven")
        assert reply["status"] == "ok"
        result = next(o for o in outputs if o["msg_type"] == "execute_result")
        assert result["data"]["text/plain"] == "14"
    finally:
        execute(kc, "get_ipython().ast_transformers.clear()")


def test_feast_does_not_print_over_the_card(kc):
    code = ("%%feature quiet --entity applicant_id --timestamp event_timestamp\n"
            "pd.DataFrame({'applicant_id': [1, 2], 'event_timestamp': pd.Timestamp('2024-01-01'), 'x': [1.0, 2.0]})")  # fmt: skip
    outputs, reply = execute(kc, code, timeout=300)
    assert reply["status"] == "ok"
    streams = "".join(o.get("text", "") for o in outputs if o["msg_type"] == "stream")
    assert "Materializing" not in streams and "online store" not in streams, streams
    _, reply = execute(kc, "%config MLOps.verbose = True")
    outputs, _ = execute(kc, code.replace("quiet ", "loud "), timeout=300)
    streams = "".join(o.get("text", "") for o in outputs if o["msg_type"] == "stream")
    execute(kc, "%config MLOps.verbose = False")
    assert "Materializing" in streams  # what the verbose setting is for


def test_mlops_counts_feature_views_without_importing_feast(kc, tmp_path):
    from conftest import run_python

    home = None
    outputs, _ = execute(kc, "from mlops_magics.workspace import current\nprint(current().root)")
    home = next(o["text"] for o in outputs if o["msg_type"] == "stream").strip()
    code = ("import sys\nfrom mlops_magics.status import workspace_status\n"
            "print(workspace_status().counts['feature views'], 'feast' in sys.modules)")  # fmt: skip
    out = run_python(code, env={"MLOPS_HOME": home})
    assert out.returncode == 0, out.stderr
    count, imported = out.stdout.split()
    assert int(count) >= 1 and imported == "False"
