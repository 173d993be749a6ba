"""`%load_ext mlops_magics` against bare IPython start, and against importing the backends eagerly.

Goal (issue #2): median of 20 fresh processes at most 150 ms over bare IPython.
"""

from __future__ import annotations

import os

from _common import goal, median, table, time_process

BARE = "from IPython.core.interactiveshell import InteractiveShell; sh = InteractiveShell.instance()"
LOAD = BARE + "; sh.run_line_magic('load_ext', 'mlops_magics')"
EAGER = BARE + "; import mlflow, feast, evidently"


def run(repeat: int = 20, eager_repeat: int = 3) -> str:
    bare = median(time_process(BARE, repeat))
    load = median(time_process(LOAD, repeat))
    eager = median(time_process(EAGER, eager_repeat))
    rows = [
        ["bare IPython shell", bare * 1000, 1.0, 0.0],
        ["+ %load_ext mlops_magics", load * 1000, load / bare, (load - bare) * 1000],
        ["+ import mlflow, feast, evidently", eager * 1000, eager / bare, (eager - bare) * 1000],
    ]
    over = (load - bare) * 1000
    return (
        table(
            f"load_ext: median wall time of fresh processes (n={repeat}; eager n={eager_repeat})",
            ["process", "ms", "ratio to bare", "ms over bare"],
            rows,
        )
        + "\n\n"
        + goal("%load_ext over bare IPython", f"{over:.0f} ms", "<= 150 ms", over <= 150)
        + f"; eager backends cost {(eager - load):.1f} s more than the lazy load"
    )


if __name__ == "__main__":
    print(run(int(os.environ.get("BENCH_REPEAT", "20"))))
