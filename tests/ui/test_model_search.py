"""Server-side model search: ranks and the best matches (issue 17 §1)."""

from __future__ import annotations

from ui.model_search import (
    EXACT,
    IN_ID,
    IN_NAME,
    PREFIX,
    WORDS,
    best_matches,
    count_line,
    match_ranks,
)


def test_ranks_exact_then_prefix_then_substring_then_name_then_words() -> None:
    ids = ["v1/gpt-4o", "v1/gpt-4o-mini", "v2/my-gpt-4o", "v3/other", "v4/zzz", "v5/none"]
    names = ["GPT 4o", "GPT 4o mini", "Mine", "Has gpt-4o inside", "Vendor four turbo", None]
    assert match_ranks("v1/GPT-4o", ids, names)[:2] == [EXACT, PREFIX]
    assert match_ranks("gpt-4o", ids, names) == [PREFIX, PREFIX, IN_ID, IN_NAME, None, None]
    assert match_ranks("turbo four", ids, names)[4] == WORDS
    assert match_ranks("  ", ids, names) == [EXACT] * len(ids)


def test_best_matches_are_ranked_and_limited() -> None:
    labels = {i: f"P · vendor/model-{i}" for i in range(3000)}
    ids = {i: f"vendor/model-{i}" for i in range(3000)}
    assert best_matches("model-12", labels, ids, 5) == [12, 120, 121, 122, 123]
    assert best_matches("vendor/model-7", labels, ids, 1) == [7]
    assert len(best_matches("", labels, ids, 50)) == 50


def test_the_count_line_escapes_the_query() -> None:
    assert count_line("", 3000, 3000, 50).startswith("3,000 models; type to search")
    assert count_line("*x*", 10, 2, 2) == "2 models match “\\*x\\*”."
    assert "the best 50 are offered" in count_line("m", 3000, 900, 50)
