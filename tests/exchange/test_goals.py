"""Goals, indicators and their measurements over time: what is accepted, what is refused where."""

from __future__ import annotations

from datetime import date

import pytest

from exchange.errors import FieldError
from exchange.goals import check_period, clean_goals, measurements_of, period_date, target_met

TODAY = date(2026, 12, 6)


def indicator(**fields: object) -> list[dict[str, object]]:
    return [{"goal": "Weniger Wasserverlust", "indicators": [{"name": "Verlust", "unit": "%", **fields}]}]


def test_measurements_are_sorted_and_the_latest_is_the_actual_value() -> None:
    [goal] = clean_goals(indicator(baseline="18", target="8,5", measurements=[
        {"date": "2025-06-30", "value": "9"}, {"date": "2024-06-30", "value": 12}]), period_start="2023-03", today=TODAY)
    [ind] = goal["indicators"]
    assert ind["direction"] == "lower" and ind["target"] == 8.5
    assert ind["measurements"] == [{"date": "2024-06-30", "value": 12.0}, {"date": "2025-06-30", "value": 9.0}]
    assert ind["actual"] == 9.0 and target_met(ind) is False


@pytest.mark.parametrize(("fields", "where", "words"), [
    ({"baseline": 5, "target": 5}, "goals.0.indicators.0.target", "equals the baseline"),
    ({"baseline": 5, "target": 9, "direction": "lower"}, "goals.0.indicators.0.target", "lies above the baseline"),
    ({"baseline": 9, "target": 5, "direction": "higher"}, "goals.0.indicators.0.target", "lies below the baseline"),
    ({"direction": "sideways"}, "goals.0.indicators.0.direction", "higher or a lower"),
    ({"target": "viel"}, "goals.0.indicators.0.target", "not viel"),
    ({"target": "nan"}, "goals.0.indicators.0.target", "not nan"),
    ({"name": ""}, "goals.0.indicators.0.name", "name what is measured"),
    ({"measurements": [{"date": "2026-12-07", "value": 1}]}, "goals.0.indicators.0.measurements.0.date", "future"),
    ({"measurements": [{"date": "2023-02-28", "value": 1}]}, "goals.0.indicators.0.measurements.0.date",
     "before the project started"),
    ({"measurements": [{"date": "31.12.2024", "value": 1}]}, "goals.0.indicators.0.measurements.0.date", "YYYY-MM-DD"),
    ({"measurements": [{"date": "2024-01-01", "value": ""}]}, "goals.0.indicators.0.measurements.0.value",
     "measured value"),
    ({"measurements": [{"date": "2024-01-01", "value": 1}] * 101}, "goals.0.indicators.0.measurements", "At most 100"),
])
def test_bad_indicators_are_refused_at_their_field(fields: dict[str, object], where: str, words: str) -> None:
    with pytest.raises(FieldError) as caught:
        clean_goals(indicator(**fields), period_start="2023-03", today=TODAY)
    assert caught.value.field == where and words in caught.value.message


def test_too_many_goals_and_a_goal_without_words() -> None:
    with pytest.raises(FieldError, match="At most 50 goals"):
        clean_goals([{"goal": "x"}] * 51, period_start=None, today=TODAY)
    with pytest.raises(FieldError) as caught:
        clean_goals([{"goal": "  "}], period_start=None, today=TODAY)
    assert caught.value.field == "goals.0.goal"


@pytest.mark.parametrize(("start", "end", "where"), [
    ("2024-05", "2024-04", "period_end"), ("2024-05-10", "2024-05-09", "period_end"),
    ("2024-13", None, "period_start"), ("März 2024", None, "period_start"), (None, "2024-02-30", "period_end"),
])
def test_bad_periods(start: str | None, end: str | None, where: str) -> None:
    with pytest.raises(FieldError) as caught:
        check_period(start, end)
    assert caught.value.field == where


def test_periods_by_month_and_day() -> None:
    assert check_period("2024-05", "2024-05-31") == ("2024-05", "2024-05-31")
    assert check_period(" ", "") == (None, None)
    assert period_date("2024-02", end=True) == date(2024, 2, 29) and period_date("2024-12", end=True) == date(2024, 12, 31)


def test_an_undated_actual_value_of_old_entries_counts_as_one_measurement() -> None:
    old = {"name": "Termine", "baseline": 0, "target": 60, "actual": 71}
    assert measurements_of(old) == [{"date": None, "value": 71}] and target_met(old) is True
    assert target_met({"name": "x", "target": 5}) is None
