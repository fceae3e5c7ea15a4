"""The one exception every data reader and loader raises."""

from __future__ import annotations


class DataError(ValueError):
    """Bad or missing data: a one-line message naming the file and the row, column or option.

    >>> str(DataError("train.csv: line 7, column 'age': 'n/a' is not a number"))
    "train.csv: line 7, column 'age': 'n/a' is not a number"
    """


def clip(text: str, limit: int = 200) -> str:
    """``text`` cut to ``limit`` characters: messages quote the file, which may be huge.

    >>> clip("x" * 300, 4)
    'xxxx… (300 characters)'
    """
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"
