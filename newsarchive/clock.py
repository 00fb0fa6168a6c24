"""Hong Kong time: the archive's clock and the zone every stored time is written in."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

# Hong Kong has kept UTC+8 without daylight saving since 1979, so a fixed offset is exact for
# every release the archive can hold and needs no tz database.
HKT = timezone(timedelta(hours=8), "HKT")


def format_hk(dt: datetime) -> str:
    """ISO 8601 to the minute in Hong Kong time, e.g. 2022-05-25T20:20:00+08:00."""
    return dt.astimezone(HKT).replace(second=0, microsecond=0).isoformat()


def hk_now() -> datetime:
    """The current time in Hong Kong, to the second."""
    return datetime.now(HKT).replace(microsecond=0)


def hk_today() -> date:
    """Today's date in Hong Kong, whatever the machine's time zone."""
    return hk_now().date()
