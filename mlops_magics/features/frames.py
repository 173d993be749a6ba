"""A DataFrame as a feature view: checked before anything is written, its schema inferred from dtypes,
and a content fingerprint that names its version."""

from __future__ import annotations

import hashlib
import keyword

from ..errors import UserInputError

RESERVED = {"event_timestamp", "created", "created_timestamp"}


def check_name(name: str, what: str = "feature view name") -> None:
    if not name or not name.isidentifier() or keyword.iskeyword(name):
        raise UserInputError(
            f"{what} {name!r} is not a valid identifier; use letters, digits and _ (e.g. applicant_profile)"
        )


def feast_type(series):
    """The Feast type of a column, or None when the column cannot be a feature."""
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
        if not isinstance(col, str) or not col.isidentifier():
            raise UserInputError(
                f"column {col!r} is not a valid feature name; rename it (letters, digits, _)"
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
    """What is written to parquet: categoricals as strings, timestamps in UTC."""
    import pandas as pd

    out = df.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.CategoricalDtype):
            out[col] = out[col].astype(str)
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
