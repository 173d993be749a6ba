"""Inputs of a drift check: validated before Evidently runs (a raw KeyError or ZeroDivisionError from
inside Evidently must never reach the user, Evidently #330, #701), and sampled above a size — rows
above ``MLOps.drift_sample_rows``, columns above ``MLOps.drift_max_columns``."""

from __future__ import annotations

from ..errors import UserInputError


def _kind(series) -> str:
    import pandas as pd

    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        return "categorical"
    return "numerical"


def named(frame, what: str):
    """``frame`` with text column names, each once: Evidently finds columns by name, so an integer name
    (a frame built from an array) fails deep inside it, and a repeated one is ambiguous."""
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise UserInputError(f"the {what} data must be a pandas DataFrame, got {type(frame).__name__}")
    if not all(isinstance(c, str) for c in frame.columns):
        frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
    repeated = list(dict.fromkeys(frame.columns[frame.columns.duplicated()]))
    if repeated:
        raise UserInputError(
            f"the {what} data has more than one column named {', '.join(map(repr, repeated[:5]))}; "
            "give every column its own name (e.g. df.columns = [...])"
        )
    return frame


def check(reference, current, columns: list[str] | None = None, required: dict | None = None) -> list[str]:
    """The columns to compare; UserInputError naming every column at fault.

    ``required``: {column: role} of columns that must be in both frames and are always compared
    (``--target``, ``--prediction``)."""
    import pandas as pd

    for frame, what in ((reference, "reference"), (current, "current")):
        if not isinstance(frame, pd.DataFrame):
            raise UserInputError(f"the {what} data must be a pandas DataFrame, got {type(frame).__name__}")
        if frame.empty:
            raise UserInputError(f"the {what} data is empty: there is nothing to compare")
    for column, role in (required or {}).items():
        if column not in reference.columns or column not in current.columns:
            where = "reference" if column not in reference.columns else "current"
            raise UserInputError(f"--{role} {column!r} is not in the {where} data; its columns: "
                                 f"{', '.join(map(str, (reference if where == 'reference' else current).columns))}")  # fmt: skip
    if columns:
        columns = [*columns, *[c for c in (required or {}) if c not in columns]]
        missing = [c for c in columns if c not in reference.columns or c not in current.columns]
        if missing:
            raise UserInputError(f"--columns {', '.join(missing)}: not in both frames; "
                                 f"reference has {', '.join(map(str, reference.columns))}")  # fmt: skip
        cols = list(columns)
    else:
        cols = [c for c in reference.columns if c in current.columns]
        if not cols:
            raise UserInputError(
                f"the frames share no column: reference {', '.join(map(str, reference.columns))}; "
                f"current {', '.join(map(str, current.columns))}"
            )
    mismatched = [
        f"{c} ({reference[c].dtype} vs {current[c].dtype})"
        for c in cols
        if _kind(reference[c]) != _kind(current[c])
    ]
    if mismatched:
        raise UserInputError(f"dtype mismatch between reference and current: {', '.join(mismatched)}")
    if len(empty_columns(reference, current, cols)) == len(cols):
        raise UserInputError(
            f"every column to compare is empty (all missing) on one side: {', '.join(map(str, cols[:8]))}"
        )
    return cols


def empty_columns(reference, current, cols: list[str]) -> dict[str, str]:
    """{column: "reference" | "current" | "both"} for columns with no value at all on a side: reported,
    not compared (Evidently cannot test an empty column)."""
    out = {}
    for c in cols:
        sides = [which for which, f in (("reference", reference), ("current", current)) if f[c].isna().all()]
        if sides:
            out[c] = sides[0] if len(sides) == 1 else "both"
    return out


def missing_shares(frame, cols: list[str]) -> dict[str, float]:
    """The share of missing values per column (None and NaN both count)."""
    return {c: float(frame[c].isna().mean()) for c in cols}


def harmonize(reference, current):
    """The two frames with booleans as 0/1 floats where the other side holds numbers (a model trained on
    ``model_frame`` serves booleans as floats, so its traffic does); other columns as they are."""
    import pandas as pd

    if not isinstance(reference, pd.DataFrame) or not isinstance(current, pd.DataFrame):
        return reference, current
    frames = [reference, current]
    for col in set(reference.columns) & set(current.columns):
        sides = [f[col] for f in frames]
        if isinstance(sides[0], pd.DataFrame) or isinstance(sides[1], pd.DataFrame):
            continue  # a duplicated name: check() says so
        flags = [pd.api.types.is_bool_dtype(s) for s in sides]
        numbers = [pd.api.types.is_numeric_dtype(s) and not b for s, b in zip(sides, flags)]
        for i in (0, 1):
            if flags[i] and numbers[1 - i]:
                frames[i] = frames[i].assign(
                    **{col: sides[i].astype("boolean").to_numpy(dtype="float64", na_value=float("nan"))}
                )
    return frames[0], frames[1]


def limit(columns: list[str], most: int, keep, seed: int = 0) -> tuple[list[str], int]:
    """At most ``most`` of ``columns`` (0: all), drawn with a fixed seed, in their order; the ``keep``
    columns always. (columns, how many there were)."""
    if not most or len(columns) <= most:
        return columns, len(columns)
    import random

    kept = [c for c in columns if c in keep]
    others = [c for c in columns if c not in keep]
    chosen = set(kept) | set(random.Random(seed).sample(others, max(most - len(kept), 0)))
    return [c for c in columns if c in chosen], len(columns)


def sample(frame, rows: int, seed: int = 0):
    """At most ``rows`` rows, drawn with a fixed seed; (frame, whether it was sampled)."""
    if rows and len(frame) > rows:
        return frame.sample(rows, random_state=seed), True
    return frame, False


def kinds(frame, columns: list[str]) -> tuple[list[str], list[str]]:
    numerical = [c for c in columns if _kind(frame[c]) == "numerical"]
    return numerical, [c for c in columns if c not in numerical]
