"""``%drift watch``: live drift of a deployment's traffic, recomputed in the background.

A daemon thread re-reads the deployment's request log every interval and, once at least ``min_rows``
new rows arrived since the last check (and the window holds ``min_rows``), runs the drift check against
the reference (by default the training features of the model the deployment serves, found through
lineage). The kernel is never blocked. Each check is saved into the Evidently project ``save`` (by
default the deployment's name: the project ``%drift ... --save NAME`` fills), so it lands on the same
dashboard and history. In memory the checks are kept as summaries (the full Evidently snapshot of the
latest one only, so memory stays flat however long it runs); the widget shows the latest verdict and the
trend of the drift share. The watch stops with ``%drift watch --stop``, ``%unload_ext``, or by itself
when the deployment stops.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from ..display import Card, Outcome, Result, Table, live_kernel

_WATCHES: dict[str, Watch] = {}
KEEP_CHECKS = 500  # summaries kept per watch (the trend shows the last 50)


@dataclass
class Watch(Result):
    deployment: str
    reference: object = field(repr=False)
    every: float = 30.0
    window: object = None  # a timedelta, or None for all traffic
    min_rows: int = 30
    save: str | None = None  # the Evidently project (and history) each check is saved into
    checks: list = field(default_factory=list)  # DriftResult, oldest first
    state: str = "STARTING"
    error: str = ""
    last_seen: object = None  # timestamp of the newest request the last check saw
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

    def wait_for(self, checks: int, timeout: float = 120) -> bool:
        """Block until the watch has made ``checks`` checks (for scripts and tests)."""
        deadline = time.monotonic() + timeout
        while len(self.checks) < checks and self.running and time.monotonic() < deadline:
            time.sleep(0.2)
        return len(self.checks) >= checks

    def _loop(self) -> None:
        from ..serving import deployments
        from .frames import traffic
        from .report import compute

        while not self._stop.is_set():
            try:
                if deployments.get(self.deployment).status != "READY":
                    self.state = "DEPLOYMENT STOPPED"
                    break
                current = traffic(self.deployment, self.window)
                new = (
                    len(current)
                    if self.last_seen is None
                    else int((current["timestamp"] > self.last_seen).sum())
                )
                if len(current) >= self.min_rows and new >= self.min_rows:
                    check = compute(self.reference, current.drop(columns=["timestamp"]), name=self.deployment,
                                    metadata={"deployment": self.deployment})  # fmt: skip
                    self.last_seen = current["timestamp"].max()
                    if self.save:
                        from .snapshots import save

                        save(check, self.save, report=False)  # the snapshot is the report, in the UI
                    if self.checks:
                        self.checks[-1].snapshot = None  # only the latest keeps its full report
                    self.checks = [*self.checks[-(KEEP_CHECKS - 1) :], check]
                    self.state = "WATCHING"
                elif not self.checks:
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
        from .charts import trend_svg

        return trend_svg([c.drift_share for c in self.checks][-50:], width, height)

    def card(self) -> Card:
        last = self.checks[-1] if self.checks else None
        facts = [
            ("deployment", self.deployment),
            ("every", f"{self.every:g} s"),
            ("checks", len(self.checks)),
            ("saved into", f"Evidently project {self.save}" if self.save else "not saved"),
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


def start(deployment: str, reference, every: float = 30.0, window=None, min_rows: int = 30,
          save: str | None = None) -> Watch:  # fmt: skip
    from ..errors import UserInputError

    if not 0.1 <= every <= 7 * 86400:
        raise UserInputError(
            f"--every {every:g} s: check between every 0.1 s and once a week, e.g. --every 30s"
        )
    if not 1 <= min_rows <= 10_000_000:
        raise UserInputError(f"--min-rows {min_rows}: give a number of rows from 1, e.g. --min-rows 30")
    stop(deployment)
    watch = Watch(deployment, reference, every=every, window=window, min_rows=min_rows, save=save).start()
    _WATCHES[deployment] = watch
    return watch


def stop(deployment: str | None = None) -> Outcome:
    """Stop the watch of ``deployment``, or every watch."""
    names = [deployment] if deployment else list(_WATCHES)
    stopped = []
    for name in names:
        watch = _WATCHES.pop(name, None)
        if watch is not None:
            watch.stop()
            stopped.append(name)
    return Outcome("stopped", stopped, "drift watches")


def stop_all(_ip=None) -> Outcome:
    return stop(None)
