"""A DataFrame as a feature view: checked before anything is written, its schema inferred from dtypes,
and a content fingerprint that names its version."""

from __future__ import annotations

import hashlib
import keyword
import re

from ..errors import UserInputError

RESERVED = {"event_timestamp", "created", "created_timestamp"}


def check_name(name: str, what: str = "feature view name") -> None:
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name) or len(name) > 100:
        shown = repr(name) if len(str(name)) <= 60 else repr(str(name)[:57] + "...")
        raise UserInputError(
            f"{what} {shown} is not a valid identifier of at most 100 characters; use letters, digits and _ "
            "(e.g. applicant_profile)"
        )


def _base_name(column, position: int) -> str:
    import unicodedata

    text = unicodedata.normalize("NFKD", str(column)).encode("ascii", "ignore").decode()
    text = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()
    if not text:
        return f"f_{position}"
    if text[0].isdigit() or keyword.iskeyword(text) or text in RESERVED:
        return f"f_{text}"
    return text


def clean_names(columns, keep=()) -> dict:
    """{column: feature name}: every name a valid, unique identifier (accents dropped, other characters
    as ``_``, lower case; ``f_`` before a leading digit or keyword; ``_2``, ``_3`` for collisions). Names
    that are already clean, and the ``keep`` columns (entity, timestamp), never change."""
    columns = list(columns)
    out = {c: c for c in columns if c in keep}
    bases = {c: _base_name(c, i) for i, c in enumerate(columns) if c not in keep}
    taken = set(out.values())
    for c in columns:  # already-clean names keep their name
        if c in bases and bases[c] == c and c not in taken:
            out[c] = c
            taken.add(c)
    for c in columns:
        if c in out:
            continue
        name, n = bases[c], 2
        while name in taken:
            name, n = f"{bases[c]}_{n}", n + 1
        out[c] = name
        taken.add(name)
    return {c: out[c] for c in columns}


def feast_type(series):
    """The Feast type of a column, or None when the column cannot be a feature."""
    import numpy as np
    import pandas as pd
    from feast import types

    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return types.String
    if pd.api.types.is_bool_dtype(dtype):
        return types.Bool
    if pd.api.types.is_integer_dtype(dtype):
        return types.Int32 if dtype.itemsize <= 4 else types.Int64
    if pd.api.types.is_float_dtype(dtype):
        return types.Float32 if dtype.itemsize <= 4 else types.Float64
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return types.UnixTimestamp
    if pd.api.types.is_string_dtype(dtype) or dtype.kind == "O":
        kinds = {type(v) for v in series.dropna()}
        if kinds <= {str}:
            return types.String
        if kinds <= {bytes}:
            return types.Bytes
        if kinds <= {bool, np.bool_}:  # read_csv gives an object column for booleans with gaps
            return types.Bool
        return None
    return None


def validate(df, entity: str, timestamp: str) -> dict:
    """Check a frame can be a feature view; return {column: feast type} of its features.

    Raises UserInputError naming the column at fault, before anything is written.
    """
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise UserInputError(
            f"the cell must end with a pandas DataFrame (or use --from VAR), got {type(df).__name__}"
        )
    if df.empty:
        raise UserInputError("the DataFrame is empty: there is nothing to register")
    twice = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
    if twice:
        raise UserInputError(f"columns appear twice: {', '.join(twice)}; rename or drop one of each")
    for col, what in ((entity, "--entity"), (timestamp, "--timestamp")):
        if col not in df.columns:
            raise UserInputError(
                f"{what} column {col!r} is not in the DataFrame; its columns: {', '.join(map(str, df.columns))}"
            )
    if not pd.api.types.is_datetime64_any_dtype(df[timestamp]):
        raise UserInputError(
            f"--timestamp column {timestamp!r} must hold datetimes, got {df[timestamp].dtype}; convert it with pd.to_datetime"
        )
    if df[entity].isna().any() or df[timestamp].isna().any():
        raise UserInputError(
            f"column {entity if df[entity].isna().any() else timestamp!r} has missing values; an entity and a time are needed on every row"
        )
    dup = df.duplicated([entity, timestamp])
    if dup.any():
        first = df.loc[dup, [entity, timestamp]].iloc[0]
        raise UserInputError(
            f"{int(dup.sum())} duplicate ({entity}, {timestamp}) rows, e.g. {entity}={first[entity]!r} at {first[timestamp]}; keep one row per entity and time"
        )
    if feast_type(df[entity]) not in _entity_types():
        raise UserInputError(
            f"--entity column {entity!r} must hold integers or strings, got {df[entity].dtype}"
        )
    schema = {}
    for col in df.columns:
        if col in (entity, timestamp):
            continue
        if not isinstance(col, str) or not col.isidentifier() or keyword.iskeyword(col):
            raise UserInputError(
                f"column {col!r} is not a valid feature name; add --clean-names to rename such columns "
                "(the mapping is shown), or rename it (letters, digits, _)"
            )
        if col in RESERVED:
            raise UserInputError(f"column {col!r} is a name Feast reserves; rename it")
        ftype = feast_type(df[col])
        if ftype is None:
            kinds = sorted({type(v).__name__ for v in df[col].dropna()})
            raise UserInputError(
                f"column {col!r} has an unsupported dtype ({df[col].dtype} holding {', '.join(kinds) or 'nothing'}); "
                "convert it to numbers, strings or datetimes, or drop it"
            )
        if df[col].isna().all():
            raise UserInputError(f"column {col!r} is empty (all missing); drop it")
        schema[col] = ftype
    if not schema:
        raise UserInputError(f"the DataFrame has no feature columns besides {entity!r} and {timestamp!r}")
    return schema


def _entity_types():
    from feast import types

    return {types.Int64, types.Int32, types.String}


def normalise(df, timestamp: str):
    """What is written to parquet: categoricals as text, booleans with gaps as ``boolean``, timestamps in
    UTC; missing values stay missing (Feast stores them as nulls)."""
    import pandas as pd

    out = df.copy()
    for col in out.columns:
        s = out[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            out[col] = s.astype(object).where(s.notna(), None).map(lambda v: v if v is None else str(v))
        elif s.dtype.kind == "O" and s.notna().any() and s.dropna().map(lambda v: isinstance(v, bool)).all():
            out[col] = s.astype("boolean")
    ts = out[timestamp]
    out[timestamp] = ts.dt.tz_localize("UTC") if ts.dt.tz is None else ts.dt.tz_convert("UTC")
    return out.reset_index(drop=True)


def fingerprint(df) -> str:
    """A content hash of the frame (values, column names and dtypes), independent of the row index."""
    import pandas as pd

    h = hashlib.sha256()
    h.update(repr([(str(c), str(t)) for c, t in df.dtypes.items()]).encode())
    h.update(pd.util.hash_pandas_object(df, index=False).values.tobytes())
    return h.hexdigest()[:16]


def model_frame(df, drop=()):
    """Features as scikit-learn estimators and an MLflow signature want them, gaps included: numbers and
    booleans as float64 (missing -> NaN), text as object (missing -> NaN); date columns and ``drop`` left
    out. Train on it, and the logged model's signature takes nulls in every column, so the endpoint
    accepts rows with gaps (an integer column in a signature cannot hold a missing value)."""
    import numpy as np
    import pandas as pd

    out = {}
    for col in df.columns:
        s = df[col]
        if col in drop or pd.api.types.is_datetime64_any_dtype(s):
            continue
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            out[col] = s.astype("float64")
        elif s.dtype.kind == "O" and s.notna().any() and s.dropna().map(lambda v: isinstance(v, bool)).all():
            out[col] = s.map({True: 1.0, False: 0.0}).astype("float64")
        else:
            out[col] = s.astype(object).where(s.notna(), np.nan)
    return pd.DataFrame(out, index=df.index)
