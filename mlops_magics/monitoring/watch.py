"""``%drift watch``: live drift of a deployment's traffic, recomputed in the background.

A daemon thread re-reads the deployment's request log every interval and, once enough new rows
arrived, runs the drift check against the reference (by default the training features of the model
the deployment serves, found through lineage). The kernel is never blocked. Each check is kept, the
widget (in a live kernel) shows the latest verdict and the trend of the drift share; the watch stops
with ``%drift watch --stop``, ``%unload_ext``, or by itself when the deployment stops.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from ..display import Card, Result, Table, live_kernel

_WATCHES: dict[str, Watch] = {}


@dataclass
class Watch(Result):
    deployment: str
    reference: object = field(repr=False)
    every: float = 30.0
    window: object = None  # a timedelta, or None for all traffic
    min_rows: int = 30
    checks: list = field(default_factory=list)  # DriftResult, oldest first
    state: str = "STARTING"
    error: str = ""
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _view: object = field(default=None, repr=False)

    def start(self) -> Watch:
        self._thread = threading.Thread(target=self._loop, name=f"drift-watch-{self.deployment}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        if self.state not in ("DEPLOYMENT STOPPED", "FAILED"):
            self.state = "STOPPED"
        self._refresh()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        from ..serving import local
        from .drift import drift

        while not self._stop.is_set():
            try:
                if local.get(self.deployment).status != "READY":
                    self.state = "DEPLOYMENT STOPPED"
                    break
                current = local.request_log(self.deployment)
                if self.window is not None and not current.empty:
                    import pandas as pd

                    current = current[current["timestamp"] >= pd.Timestamp.now(tz="UTC") - self.window]
                if len(current) >= self.min_rows:
                    self.checks.append(drift(self.reference, current.drop(columns=["timestamp"]),
                                             name=self.deployment, metadata={"deployment": self.deployment}))  # fmt: skip
                    self.state = "WATCHING"
                else:
                    self.state = f"WAITING ({len(current)} of {self.min_rows} rows)"
            except Exception as exc:  # shown in the widget; the kernel is not disturbed
                self.state, self.error = "FAILED", f"{type(exc).__name__}: {exc}"
                break
            finally:
                self._refresh()
            self._stop.wait(self.every)
        self._refresh()

    # -- display ---------------------------------------------------------------------------------------
    def trend_svg(self, width: int = 240, height: int = 40) -> str:
        shares = [c.drift_share for c in self.checks][-50:]
        if len(shares) < 2:
            return ""
        step = width / (len(shares) - 1)
        points = " ".join(f"{i * step:.1f},{height - s * height:.1f}" for i, s in enumerate(shares))
        return (f"<svg width='{width}' height='{height}' xmlns='http://www.w3.org/2000/svg'>"
                f"<polyline points='{points}' fill='none' stroke='#cf222e' stroke-width='1.5'/></svg>")  # fmt: skip

    def card(self) -> Card:
        last = self.checks[-1] if self.checks else None
        facts = [
            ("deployment", self.deployment),
            ("every", f"{self.every:g} s"),
            ("checks", len(self.checks)),
        ]
        if last is not None:
            facts += [("latest", f"{last.when}: {'DRIFT' if last.dataset_drift else 'no drift'}, "
                                 f"{last.drifted_columns} of {len(last.columns)} columns ({last.drift_share:.0%})")]  # fmt: skip
        if self.error:
            facts.append(("error", self.error))
        rows = [[c.when, "yes" if c.dataset_drift else "no", round(c.drift_share, 3), ", ".join(c.drifted)]
                for c in self.checks[-10:]]  # fmt: skip
        trend = self.trend_svg()
        table = Table(["when", "drift", "share", "drifted columns"], rows, title="recent checks")
        return Card(f"Drift watch {self.deployment}", facts, status=self.state.split(" (")[0], tables=[table],
                    notes=["drift share over time:"] if trend else [], kind="drift-watch")  # fmt: skip

    def _html(self) -> str:
        return self.card().to_html() + self.trend_svg()

    def _refresh(self) -> None:
        if self._view is not None:
            self._view.value = self._html()

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = {"text/plain": self.card().to_text(), "text/html": self._html()}
        if live_kernel():
            import ipywidgets as w

            if self._view is None:
                self._view = w.HTML(self._html())
                self._view.add_class("mlops-widget-drift-watch")
            bundle.update({k: v for k, v in self._view._repr_mimebundle_().items() if k != "text/plain"})
        return bundle


def start(deployment: str, reference, every: float = 30.0, window=None, min_rows: int = 30) -> Watch:
    stop(deployment)
    watch = Watch(deployment, reference, every=every, window=window, min_rows=min_rows).start()
    _WATCHES[deployment] = watch
    return watch


def stop(deployment: str | None = None) -> list[str]:
    names = [deployment] if deployment else list(_WATCHES)
    stopped = []
    for name in names:
        watch = _WATCHES.pop(name, None)
        if watch is not None:
            watch.stop()
            stopped.append(name)
    return stopped


def stop_all(_ip=None) -> list[str]:
    return stop(None)


def wait_for(watch: Watch, checks: int, timeout: float = 120) -> bool:
    """Block until ``watch`` has made ``checks`` checks (for scripts and tests)."""
    deadline = time.monotonic() + timeout
    while len(watch.checks) < checks and watch.running and time.monotonic() < deadline:
        time.sleep(0.2)
    return len(watch.checks) >= checks
