"""A compact evaluator of LightGBM's trees in numpy, for the scoring hot path.

LightGBM's own ``predict`` spends most of a millisecond per call validating
and converting its input, whatever the row count. The trees are instead laid
out as arrays (one row per tree) and every tree is walked at once, one level
per step. It only needs numerical splits compared with ``<=``: the model is
trained with ``use_missing=false`` and without categorical features, and the
feature vectors never hold NaN. The tests check its sums against LightGBM's
raw scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt


class TreeEnsemble:
    """The raw (log-odds) score of a LightGBM model, from its ``dump_model`` JSON."""

    def __init__(self, dump: dict[str, Any]) -> None:
        trees = [info["tree_structure"] for info in dump["tree_info"]]
        node_counts = [max(_count_internal(tree), 1) for tree in trees]
        width = max(node_counts, default=1)
        count = len(trees)
        self._feature = np.zeros((count, width), dtype=np.intp)
        self._threshold = np.zeros((count, width), dtype=np.float64)
        # Children: >= 0 is an internal node, < 0 is leaf ~child.
        self._left = np.full((count, width), -1, dtype=np.intp)
        self._right = np.full((count, width), -1, dtype=np.intp)
        leaf_counts = [max(_count_internal(tree) + 1, 1) for tree in trees]
        self._leaf = np.zeros((count, max(leaf_counts, default=1)), dtype=np.float64)
        self._depth = 0
        for index, tree in enumerate(trees):
            self._depth = max(self._depth, self._lay_out(index, tree))
        self._rows = np.arange(count)

    def _lay_out(self, tree_index: int, root: dict[str, Any]) -> int:
        """Numbers the nodes of one tree in preorder; returns its depth."""
        if "leaf_value" in root:
            # A single-leaf tree: node 0 sends every row to leaf 0 either way.
            self._threshold[tree_index, 0] = np.inf
            self._leaf[tree_index, 0] = root["leaf_value"]
            return 1
        next_node = 0
        next_leaf = 0
        depth = 0

        def visit(node: dict[str, Any], level: int) -> int:
            nonlocal next_node, next_leaf, depth
            if "leaf_value" in node:
                leaf = next_leaf
                next_leaf += 1
                self._leaf[tree_index, leaf] = node["leaf_value"]
                return ~leaf
            if node["decision_type"] != "<=":
                raise ValueError(f"unsupported split {node['decision_type']!r}")
            here = next_node
            next_node += 1
            depth = max(depth, level)
            self._feature[tree_index, here] = node["split_feature"]
            self._threshold[tree_index, here] = node["threshold"]
            self._left[tree_index, here] = visit(node["left_child"], level + 1)
            self._right[tree_index, here] = visit(node["right_child"], level + 1)
            return here

        visit(root, 1)
        return depth

    def raw_scores(self, features: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """The log-odds of each row of ``features`` (rows by features)."""
        rows = features.shape[0]
        node = np.zeros((rows, len(self._rows)), dtype=np.intp)
        trees = np.broadcast_to(self._rows, node.shape)
        samples = np.arange(rows)[:, None]
        for _ in range(self._depth):
            inner = node >= 0
            at = np.where(inner, node, 0)
            value = features[samples, self._feature[trees, at]]
            goes_left = value <= self._threshold[trees, at]
            step = np.where(goes_left, self._left[trees, at], self._right[trees, at])
            node = np.where(inner, step, node)
        leaves = self._leaf[trees, ~node]
        total: npt.NDArray[np.float64] = leaves.sum(axis=1)
        return total

    def raw_score(self, features: npt.NDArray[np.float64]) -> float:
        """The log-odds of one feature vector (the single-row hot path)."""
        node = np.zeros(len(self._rows), dtype=np.intp)
        trees = self._rows
        for _ in range(self._depth):
            inner = node >= 0
            at = np.where(inner, node, 0)
            goes_left = features[self._feature[trees, at]] <= self._threshold[trees, at]
            step = np.where(goes_left, self._left[trees, at], self._right[trees, at])
            node = np.where(inner, step, node)
        return float(self._leaf[trees, ~node].sum())


def _count_internal(node: dict[str, Any]) -> int:
    if "leaf_value" in node:
        return 0
    return 1 + _count_internal(node["left_child"]) + _count_internal(node["right_child"])
