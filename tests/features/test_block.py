"""A feature block's firm id -> row lookup, by table gather (dense ids) or binary search (sparse ids)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from credit.features.block import FeatureBlock

DATES = [date(2025, 1, 1)]


def test_dense_ids_all_in_the_lookup_table_get_their_rows() -> None:
    block = FeatureBlock(np.array([2, 3, 5, 8]), DATES)
    assert block.rows_or_missing(np.array([8, 2, 2, 5, 3])).tolist() == [3, 0, 0, 2, 1]


def test_dense_ids_outside_the_table_or_not_in_the_block_are_missing() -> None:
    block = FeatureBlock(np.array([2, 3, 5, 8]), DATES)
    # 9 lies past the table's last id and -1 before its first; 4 lies inside but is no firm of the block
    assert block.rows_or_missing(np.array([9, 5, -1, 4, 2])).tolist() == [-1, 2, -1, -1, 0]


def test_sparse_ids_are_found_by_search_with_the_same_answers() -> None:
    block = FeatureBlock(np.array([10, 10**12, 3 * 10**12]), DATES)
    assert block.rows_or_missing(np.array([3 * 10**12, 7, 10, 2 * 10**12])).tolist() == [2, -1, 0, -1]


def test_no_ids_give_no_rows() -> None:
    block = FeatureBlock(np.array([2, 3]), DATES)
    assert block.rows_or_missing(np.array([], dtype=np.int64)).tolist() == []


def test_positions_refuse_an_id_of_another_firm() -> None:
    block = FeatureBlock(np.array([2, 3]), DATES)
    with pytest.raises(KeyError, match=r"\[4\]"):
        block.positions(np.array([3, 4]))
