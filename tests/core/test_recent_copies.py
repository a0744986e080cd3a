"""apps/core/recent_copies.py: copies trusted for a while, the least recently put dropped
past the bound, replaced (never changed) in place."""

from __future__ import annotations

import time

from apps.core.recent_copies import RecentCopies


def test_a_copy_is_kept_for_its_seconds_then_dropped():
    copies: RecentCopies[str] = RecentCopies(seconds=0.2, kept=10)
    copies.put("a", "first")
    assert copies.get("a") == "first"
    time.sleep(0.25)
    assert copies.get("a") is None


def test_past_the_bound_the_least_recently_put_go_first():
    copies: RecentCopies[int] = RecentCopies(seconds=60, kept=2)
    copies.put("a", 1)
    copies.put("b", 2)
    copies.put("a", 10)  # put again: the most recent now
    copies.put("c", 3)
    assert (copies.get("a"), copies.get("b"), copies.get("c")) == (10, None, 3)


def test_a_copy_that_no_longer_fits_is_dropped():
    copies: RecentCopies[int] = RecentCopies(seconds=60, kept=10)
    copies.put("a", 1)
    assert copies.get("a", still_good=lambda copy: copy == 2) is None
    assert copies.get("a") is None


def test_a_replacement_keeps_the_expiry_and_none_leaves_the_copy():
    copies: RecentCopies[int] = RecentCopies(seconds=0.2, kept=10)
    copies.put("a", 1)
    copies.replace("a", lambda copy: None)
    assert copies.get("a") == 1
    time.sleep(0.12)
    copies.replace("a", lambda copy: copy + 1)
    copies.replace("missing", lambda copy: copy + 1)
    assert copies.get("a") == 2 and copies.get("missing") is None
    time.sleep(0.12)
    assert copies.get("a") is None  # 0.24 s after it was first put


def test_forget_and_clear():
    copies: RecentCopies[int] = RecentCopies(seconds=60, kept=10)
    copies.put("a", 1)
    copies.put("b", 2)
    copies.forget("a")
    assert copies.get("a") is None and copies.get("b") == 2
    copies.clear()
    assert copies.get("b") is None
