"""The one exception every data reader and loader raises."""

from __future__ import annotations


class DataError(ValueError):
    """Bad or missing data: a one-line message naming the file and the row, column or option.

    >>> str(DataError("train.csv: line 7, column 'age': 'n/a' is not a number"))
    "train.csv: line 7, column 'age': 'n/a' is not a number"
    """
