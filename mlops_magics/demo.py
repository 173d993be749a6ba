"""``make demo``: the credit-risk loop end to end on the embedded defaults, with a short summary.

Until the pipeline lands it runs the smallest real thing available and says what it did.
"""

from __future__ import annotations

import sys


def main() -> int:
    from .status import workspace_status
    from .workspace import ensure

    ws = ensure()
    print(f"demo: created the embedded workspace at {ws.root}")
    print(workspace_status().card().to_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
