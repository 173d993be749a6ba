from mlops_magics.display import Card, Table

from kernel import execute, live_kernel

WIDGET = "application/vnd.jupyter.widget-view+json"


def test_card_static_renderings_escape_and_highlight():
    card = Card(
        "run <b>",
        [("C", 0.5), ("auc", None)],
        status="FINISHED",
        tables=[Table(["name", "a", "b"], [["C", 1, 2], ["auc", 0.9, 0.9]], highlight=[0])],
    )
    text, html = card.to_text(), card._repr_mimebundle_()["text/html"]
    assert "run <b>  [FINISHED]" in text and "auc  —" in text
    assert "* C" in text and "  auc" in text  # the highlighted row is marked in text too
    assert "run &lt;b&gt;" in html and "<b>" not in html
    assert html.count("background:#fff8c5") == 1


def test_live_kernel_gets_widget_and_static_fallback(tmp_path):
    with live_kernel(tmp_path) as kc:
        outputs, reply = execute(kc, "%load_ext mlops_magics\n%mlops")
    assert reply["status"] == "ok", outputs
    result = [o for o in outputs if o["msg_type"] == "execute_result"]
    assert len(result) == 1, outputs
    data = result[0]["data"]
    assert WIDGET in data, "no widget view in a live kernel"
    assert "mlops-workspace" in data["text/html"]
    assert "mlops_magics workspace" in data["text/plain"]


def test_widgets_off_leaves_static_only(tmp_path):
    with live_kernel(tmp_path) as kc:
        outputs, reply = execute(kc, "%load_ext mlops_magics\n%config MLOps.widgets = False\n%mlops")
    assert reply["status"] == "ok", outputs
    data = next(o for o in outputs if o["msg_type"] == "execute_result")["data"]
    assert WIDGET not in data
    assert "text/html" in data
