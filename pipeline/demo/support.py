"""Support-ticket side of the Nordlys Kaffe ApS demo-data generator.

Each ticket's full life cycle (creation, first response, resolution, survey answer) is
simulated when it is created; the monthly export then shows each ticket *as of the end of
the month* (see :meth:`SupportSimulator.simulate`).  Agents only work during opening hours
(Mon-Fri 08-18, Sat 10-15, closed Sundays and Danish holidays), so weekends and Christmas are
naturally slower.
"""
from __future__ import annotations

import bisect
import calendar
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Any

from .sales import Month, black_friday, danish_holidays, seeded

TICKET_KEYS = ("ticket_id", "created_at", "first_response_at", "resolved_at", "channel",
               "priority", "category", "customer_id", "agent", "satisfaction")
TS_FORMAT = "%Y-%m-%d %H:%M:%S"
# (name, first working day, relative workload)
AGENTS = (("Søren", date(2019, 1, 1), 1.2), ("Mette", date(2019, 1, 1), 1.2),
          ("Jesper", date(2019, 1, 1), 1.0), ("Ida", date(2019, 1, 1), 1.0),
          ("Åse", date(2019, 1, 1), 0.8), ("Bjørn", date(2024, 8, 1), 1.0))
CHANNELS = ("email", "chat", "web", "phone")
CHANNEL_WEIGHTS = (38, 25, 22, 15)
CATEGORIES = ("billing", "delivery", "product", "technical", "complaint", "other")
PRIORITIES = ("low", "normal", "high", "urgent")
OPEN_HOURS = MappingProxyType({**{wd: (8, 18) for wd in range(5)}, 5: (10, 15)})  # Sun closed
PHONE_HOURS = (9, 16)
CUSTOMER_HOURS = MappingProxyType({   # email/web tickets; hours 2-5 unused (DST-safe)
    0: 1.0, 1: 0.4, 6: 1.0, 7: 3.0, 8: 5.0, 9: 6.0, 10: 6.0, 11: 6.0, 12: 5.0, 13: 6.0, 14: 6.0,
    15: 5.0, 16: 5.0, 17: 4.0, 18: 4.0, 19: 4.0, 20: 5.0, 21: 5.0, 22: 3.0, 23: 2.0})
FIRST_RESPONSE_MEDIAN = MappingProxyType(  # working minutes
    {"phone": 1.5, "chat": 5.0, "web": 180.0, "email": 360.0})
PRIORITY_SPEED = MappingProxyType({"low": 1.6, "normal": 1.0, "high": 0.5, "urgent": 0.25})
RESOLUTION_MEDIAN = MappingProxyType({  # working minutes after the first response
    "billing": 240.0, "other": 300.0, "product": 600.0, "delivery": 900.0, "technical": 1800.0,
    "complaint": 1500.0})
SURVEY_RATE = 0.40


@dataclass(frozen=True, slots=True)
class Ticket:
    """A ticket with its complete (future) life cycle; exports show it as of a cut-off."""

    tid: int
    created: datetime
    first_response: datetime
    resolved: datetime
    channel: str
    priority: str
    category: str
    customer_id: str
    agent: str
    satisfaction: int | None   # survey answer given at resolution, if any

    def as_of(self, cutoff: datetime) -> dict[str, Any]:
        """The ticket as an export taken at ``cutoff`` (local time) would show it."""
        responded, resolved = self.first_response < cutoff, self.resolved < cutoff
        return dict(zip(TICKET_KEYS, (
            f"T-{self.tid:06d}", self.created.strftime(TS_FORMAT),
            self.first_response.strftime(TS_FORMAT) if responded else None,
            self.resolved.strftime(TS_FORMAT) if resolved else None,
            self.channel, self.priority, self.category, self.customer_id,
            self.agent if responded else None, self.satisfaction if resolved else None)))


class WorkClock:
    """Adds working minutes to local timestamps, honouring opening hours and holidays."""

    def __init__(self) -> None:
        self._holidays: dict[int, frozenset[date]] = {}

    def is_holiday(self, d: date) -> bool:
        """True for Danish public holidays (plus Christmas Eve / New Year's Eve)."""
        if d.year not in self._holidays:
            self._holidays[d.year] = danish_holidays(d.year)
        return d in self._holidays[d.year]

    def window(self, d: date) -> tuple[int, int] | None:
        """Opening hours (start, end) of day ``d`` or None when closed."""
        return None if self.is_holiday(d) else OPEN_HOURS.get(d.weekday())

    def add(self, start: datetime, minutes: float) -> datetime:
        """``start`` plus ``minutes`` of working time (never before ``start``)."""
        t, left = start, timedelta(minutes=minutes)
        while True:
            win = self.window(t.date())
            if win is not None:
                open_, close = (datetime(t.year, t.month, t.day, h) for h in win)
                t = max(t, open_)
                if t < close:
                    if t + left <= close:
                        return (t + left).replace(microsecond=0)
                    left -= close - t
            t = datetime(t.year, t.month, t.day) + timedelta(days=1)


class SupportSimulator:
    """Simulates tickets month by month; call :meth:`simulate` with consecutive months."""

    def __init__(self) -> None:
        self.next_ticket_id = 104_217
        self.pending: list[Ticket] = []      # tickets not finished at the last export
        self.clock = WorkClock()

    def _day_weight(self, d: date) -> float:
        w = (1.35, 1.1, 1.0, 1.0, 1.0, 0.6, 0.55)[d.weekday()]
        if d.month == 12 and d.day >= 15:
            w *= 0.5 if 24 <= d.day <= 26 else 1.5         # delivery trouble before Christmas
        elif d.month == 11 and d >= black_friday(d.year):
            w *= 1.3
        elif d.month == 1 and 2 <= d.day <= 10:
            w *= 1.3                                        # returns of Christmas gifts
        return w

    def _created(self, rng: random.Random, d: date) -> tuple[datetime, str]:
        channel = rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0]
        win = self.clock.window(d)
        if channel == "phone" and (win is None or d.weekday() > 4):
            channel = "email"
        if channel == "chat" and win is None:
            channel = "web"
        if channel == "phone":
            hour = rng.randrange(*PHONE_HOURS)
        elif channel == "chat":
            hour = rng.randrange(*win)  # type: ignore[misc]
        else:
            hour = rng.choices(list(CUSTOMER_HOURS), list(CUSTOMER_HOURS.values()))[0]
        return datetime(d.year, d.month, d.day, hour, rng.randrange(60), rng.randrange(60)), channel

    def _category(self, rng: random.Random, month: int) -> str:
        weights = {12: (12, 33, 20, 12, 15, 8), 11: (13, 29, 21, 13, 11, 13),
                   1: (13, 26, 22, 14, 11, 14)}.get(month, (14, 26, 22, 14, 10, 14))
        return rng.choices(CATEGORIES, weights)[0]

    def _priority(self, rng: random.Random, category: str) -> str:
        weights = {"complaint": (5, 45, 38, 12), "technical": (10, 50, 30, 10)}.get(
            category, (25, 58, 14, 3))
        return rng.choices(PRIORITIES, weights)[0]

    def _agent(self, rng: random.Random, when: datetime) -> str:
        active = [(n, w) for n, since, w in AGENTS if since <= when.date()]
        return rng.choices([n for n, _ in active], [w for _, w in active])[0]

    def _satisfaction(self, rng: random.Random, category: str, days_open: float) -> int | None:
        if rng.random() >= SURVEY_RATE:
            return None
        complaint, slow = category == "complaint", days_open > 7
        weights = ((30, 25, 20, 15, 10) if complaint and slow else
                   (15, 20, 25, 25, 15) if complaint else
                   (10, 15, 25, 30, 20) if slow else (3, 5, 12, 33, 47))
        return rng.choices((1, 2, 3, 4, 5), weights)[0]

    def _lifecycle(self, rng: random.Random, created: datetime, channel: str, priority: str,
                   category: str) -> tuple[datetime, datetime]:
        median = FIRST_RESPONSE_MEDIAN[channel] * PRIORITY_SPEED[priority]
        minutes = rng.lognormvariate(0, 0.8) * median
        first = self.clock.add(created, minutes if minutes <= 1200 else rng.uniform(700, 1200))
        if channel in ("phone", "chat") and category in ("billing", "other", "product") \
                and rng.random() < 0.5:
            return first, first + timedelta(minutes=rng.randint(3, 25))  # solved in the contact
        if category in ("technical", "complaint") and rng.random() < 0.08:
            work = rng.uniform(9000, 18000)   # escalated: spare parts / roaster investigation
        else:
            work = rng.lognormvariate(0, 0.9) * RESOLUTION_MEDIAN[category]
            work = work if work <= 6000 else rng.uniform(3000, 6000)
        return first, self.clock.add(first, work)

    def simulate(self, m: Month, n_orders: int, orders: list[tuple[datetime, str]]
                 ) -> list[dict[str, Any]]:
        """Tickets for the export of month ``m``, as of the end of ``m``, sorted by id.

        ``orders`` holds (local time, customer_id) of orders of this and the previous month,
        sorted by time; tickets are raised by customers with an order before the ticket.
        """
        rng = seeded("support", m)
        start = datetime(m[0], m[1], 1)
        days = [date(m[0], m[1], d) for d in range(1, calendar.monthrange(*m)[1] + 1)]
        cutoff = datetime.combine(days[-1] + timedelta(days=1), datetime.min.time())
        n_tickets = round(n_orders / rng.uniform(5.3, 6.3))
        weights = [self._day_weight(d) for d in days]
        created = sorted((self._created(rng, d) for d in rng.choices(days, weights, k=n_tickets)),
                         key=lambda x: x[0])
        times = [t for t, _ in orders]
        new: list[Ticket] = []
        for when, channel in created:
            hi = bisect.bisect_left(times, when)
            lo = bisect.bisect_left(times, when - timedelta(days=40))
            customer = orders[rng.randrange(lo, hi)][1] if hi > lo else orders[0][1]
            category = self._category(rng, m[1])
            priority = self._priority(rng, category)
            first, resolved = self._lifecycle(rng, when, channel, priority, category)
            sat = self._satisfaction(rng, category, (resolved - when).total_seconds() / 86400)
            new.append(Ticket(self.next_ticket_id, when, first, resolved, channel, priority,
                              category, customer, self._agent(rng, first), sat))
            self.next_ticket_id += 1
        touched = [t for t in self.pending
                   if start <= t.first_response < cutoff or start <= t.resolved < cutoff]
        self.pending = [t for t in self.pending + new if t.resolved >= cutoff]
        return [t.as_of(cutoff) for t in touched + new]
