"""Sales side of the Nordlys Kaffe ApS demo-data generator (see :mod:`pipeline.demo.generate`).

All randomness comes from :func:`seeded`, i.e. ``random.Random`` instances seeded with a
stable string per (source, month).  State that legitimately carries over from one month to
the next (order-id counter, customer base, subscriptions, the tail of the previous month
that gets re-exported) lives in a :class:`SalesSimulator` instance created per run, so a
month's content depends only on the month and on the months before it.
"""
from __future__ import annotations

import bisect
import calendar
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from itertools import accumulate
from types import MappingProxyType
from typing import NamedTuple
from zoneinfo import ZoneInfo

CPH = ZoneInfo("Europe/Copenhagen")
Month = tuple[int, int]

SALES_COLUMNS = ("order_id", "line_id", "order_ts", "customer_id", "region", "channel",
                 "product", "category", "quantity", "unit_price", "discount", "currency", "status")
REFERENCE_MONTH: Month = (2023, 11)   # growth is measured from here, independent of --start
BASE_ORDERS = 520                     # orders in the reference month before seasonality
GROWTH_PER_YEAR = 0.13
SEASONALITY = (0.88, 0.93, 0.98, 0.97, 0.96, 0.92, 0.75, 0.92, 1.00, 1.03, 1.30, 1.42)
REGIONS = ("Hovedstaden", "Midtjylland", "Syddanmark", "Sjælland", "Nordjylland")
REGION_WEIGHTS = (0.38, 0.24, 0.19, 0.11, 0.08)
SHOP_PROBABILITY = MappingProxyType({"Hovedstaden": 0.33, "Midtjylland": 0.25,
                                     "Syddanmark": 0.07, "Sjælland": 0.07, "Nordjylland": 0.05})
P_NEW_CUSTOMER = 0.48
LAST_DAYS_REEXPORTED = 3
RESTATED_RETURN_RATE = 0.05

# Order-time distributions (local Copenhagen hour -> weight).  Hour 2 is never used, which
# keeps every local time unambiguous and existent across DST switches.
WEB_HOURS = MappingProxyType({
    0: 1.2, 1: 0.6, 3: 0.1, 4: 0.1, 5: 0.3, 6: 1.0, 7: 2.0, 8: 3.0, 9: 4.0, 10: 5.0, 11: 5.0,
    12: 6.0, 13: 5.0, 14: 5.0, 15: 5.0, 16: 5.0, 17: 5.0, 18: 6.0, 19: 7.0, 20: 8.0, 21: 8.0,
    22: 6.0, 23: 3.5})
SHOP_HOURS_WEEKDAY = MappingProxyType({10: 3, 11: 4, 12: 6, 13: 6, 14: 5, 15: 5, 16: 6, 17: 5})
SHOP_HOURS_WEEKEND = MappingProxyType({10: 4, 11: 6, 12: 6, 13: 5, 14: 4})
B2B_HOURS = MappingProxyType({8: 4, 9: 6, 10: 6, 11: 5, 12: 3, 13: 4, 14: 4, 15: 3})
WEB_WEEKDAY = (1.1, 1.0, 1.0, 1.0, 1.0, 0.9, 1.15)
SHOP_WEEKDAY = (0.9, 0.9, 1.0, 1.0, 1.2, 1.6, 1.0)


@dataclass(frozen=True)
class Product:
    """A catalogue item with list price (DKK) and relative popularity per customer type."""

    name: str
    category: str
    price: float
    w_consumer: float
    w_b2b: float
    seasonal: bool = False


CATALOGUE: tuple[Product, ...] = (
    Product("Nordlys Morgenblend 500 g", "Coffee", 95.00, 14, 2),
    Product("Espresso Mørk 500 g", "Coffee", 109.00, 12, 3),
    Product("Etiopien Yirgacheffe 250 g", "Coffee", 89.00, 9, 1),
    Product("Colombia Huila 250 g", "Coffee", 79.00, 8, 1),
    Product("Kenya AA 250 g", "Coffee", 99.50, 5, 0.5),
    Product("Guatemala Antigua 500 g", "Coffee", 115.00, 6, 1),
    Product("Decaf Brasil 250 g", "Coffee", 69.95, 4, 0.5),
    Product("Espresso Husblend 1 kg", "Coffee", 179.00, 6, 14),
    Product("Julekaffe 250 g", "Coffee", 85.00, 10, 2, seasonal=True),
    Product("Baratza Encore kværn", "Equipment", 1599.00, 1.6, 0.3),
    Product("Comandante C40 håndkværn", "Equipment", 2199.00, 1.0, 0.1),
    Product("Moccamaster KBG Select", "Equipment", 1999.00, 2.0, 0.6),
    Product("Lelit Anna espressomaskine", "Equipment", 4995.00, 0.7, 0.3),
    Product("Rancilio Silvia espressomaskine", "Equipment", 8495.00, 0.4, 0.4),
    Product("Hario V60 dripper", "Accessories", 119.95, 4, 0.2),
    Product("Filterpapir V60 100 stk.", "Accessories", 49.95, 6, 1),
    Product("Chemex 6 kopper", "Accessories", 429.00, 1.5, 0.1),
    Product("Mælkekande 600 ml", "Accessories", 179.00, 2, 1.5),
    Product("Digital kaffevægt", "Accessories", 299.00, 2, 0.5),
    Product("Termokrus 350 ml", "Accessories", 229.00, 2.5, 0.3),
    Product("Abonnement Basis 2x250 g", "Subscription", 159.00, 1.0, 0),
    Product("Abonnement Plus 4x250 g", "Subscription", 289.00, 0.45, 0),
    Product("Kontorabonnement 2 kg", "Subscription", 649.00, 0, 2),
)
RETURN_RATE = MappingProxyType({"Equipment": 0.10, "Accessories": 0.04, "Coffee": 0.02,
                                "Subscription": 0.0})


@dataclass(slots=True)
class Customer:
    """A customer; mutable because recency and subscription change month by month."""

    cid: int
    region: str
    is_b2b: bool
    loyalty: float
    last_mi: int                       # month index of the latest order
    b2b_discount: float = 0.0          # agreed discount on coffee/subscriptions (b2b only)
    sub_product: Product | None = None
    sub_day: int = 0


@dataclass(slots=True)
class Order:
    """An order before id assignment; ``items`` holds (product, quantity, discount)."""

    local: datetime
    customer: Customer
    channel: str
    items: list[tuple[Product, int, float]]


class SaleRow(NamedTuple):
    """One exported sales line (``local`` is the Copenhagen order time, not exported)."""

    order_id: str
    line_id: int
    order_ts: str
    customer_id: str
    region: str
    channel: str
    product: str
    category: str
    quantity: int
    unit_price: float
    discount: float
    currency: str
    status: str
    local: datetime


@dataclass
class MonthSales:
    """Result of simulating one month of sales."""

    month: Month
    rows: list[SaleRow]                 # export file content (re-exported tail + new), sorted
    orders: list[tuple[datetime, str]]  # (local time, customer_id) of orders placed this month
    n_orders: int


def month_key(m: Month) -> str:
    """``(2025, 6)`` -> ``"2025-06"``."""
    return f"{m[0]:04d}-{m[1]:02d}"


def month_index(m: Month) -> int:
    """Months since year 0, for arithmetic."""
    return m[0] * 12 + m[1] - 1


def add_months(m: Month, k: int) -> Month:
    """Shift a month by ``k`` months."""
    y, mo = divmod(month_index(m) + k, 12)
    return (y, mo + 1)


def iter_months(start: Month, end: Month) -> list[Month]:
    """Inclusive list of months from ``start`` to ``end``."""
    return [add_months(start, k) for k in range(month_index(end) - month_index(start) + 1)]


def seeded(source: str, m: Month) -> random.Random:
    """Independent, stable random stream per (source, month)."""
    return random.Random(f"nordlys-kaffe/{source}/{month_key(m)}")


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (b - (b + 8) // 25 + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ll = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ll) // 451
    month, day = divmod(h + ll - 7 * m + 114, 31)
    return date(year, month, day + 1)


def danish_holidays(year: int) -> frozenset[date]:
    """Days on which the shop, b2b desk and support are closed."""
    easter = easter_sunday(year)
    offsets = [-3, -2, 0, 1, 39, 49, 50] + ([26] if year < 2024 else [])  # Store bededag
    fixed = [(1, 1), (6, 5), (12, 24), (12, 25), (12, 26), (12, 31)]
    return frozenset([easter + timedelta(days=o) for o in offsets]
                     + [date(year, mo, d) for mo, d in fixed])


def black_friday(year: int) -> date:
    """Friday after the fourth Thursday of November."""
    first_thursday = 1 + (3 - date(year, 11, 1).weekday()) % 7
    return date(year, 11, first_thursday + 22)


def demand_factor(d: date) -> float:
    """Day-level demand multiplier: Black Friday week, Christmas rush, New Year's Day."""
    if d.month == 11:
        delta = (d - black_friday(d.year)).days
        return {0: 3.0, 1: 1.7, 2: 1.5, 3: 2.2}.get(delta, 0.85 if delta < 0 else 1.1)
    if d.month == 12:
        return 1.3 if d.day <= 20 else {21: 0.9, 22: 0.8, 23: 0.7, 24: 0.25, 25: 0.3,
                                        26: 0.6}.get(d.day, 0.75)
    return 0.4 if (d.month, d.day) == (1, 1) else 1.0


def to_utc_text(local: datetime) -> str:
    """Naive Copenhagen time -> ``YYYY-MM-DDTHH:MM:SSZ`` in UTC."""
    return local.replace(tzinfo=CPH).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _pick(rng: random.Random, weights: dict[int, float]) -> int:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


class SalesSimulator:
    """Simulates sales month by month; call :meth:`simulate` with consecutive months."""

    def __init__(self, start: Month) -> None:
        """Create the pre-existing customer base (the company existed before ``start``)."""
        rng = seeded("customer-base", start)
        self.next_order_id = 104_801
        self.next_customer_id = 10_001
        self.customers: list[Customer] = []
        self.tail: list[SaleRow] = []
        start_mi = month_index(start)
        plans = {b2b: [p for p in CATALOGUE if p.category == "Subscription"
                       and (p.w_b2b if b2b else p.w_consumer) > 0] for b2b in (False, True)}
        for _ in range(1500):
            c = self._new_customer(rng, start_mi - rng.randint(1, 18))
            if rng.random() < (0.25 if c.is_b2b else 0.03):
                c.sub_product = rng.choice(plans[c.is_b2b])
                c.sub_day = rng.randint(1, 28)

    def _new_customer(self, rng: random.Random, mi: int) -> Customer:
        is_b2b = rng.random() < 0.045
        c = Customer(self.next_customer_id, rng.choices(REGIONS, REGION_WEIGHTS)[0], is_b2b,
                     rng.lognormvariate(0, 1.2) * (3 if is_b2b else 1), mi)
        if is_b2b:
            c.b2b_discount = rng.choices((0.0, 0.05, 0.10, 0.15), (35, 25, 30, 10))[0]
        self.next_customer_id += 1
        self.customers.append(c)
        return c

    def _day_weights(self, m: Month) -> dict[str, tuple[list[date], list[float]]]:
        holidays = danish_holidays(m[0])
        days = [date(m[0], m[1], d) for d in range(1, calendar.monthrange(*m)[1] + 1)]

        def shop(d: date) -> float:
            closed = d in holidays or (d.weekday() == 6 and not (d.month == 12 and d.day < 24))
            return 0.0 if closed else demand_factor(d) * SHOP_WEEKDAY[d.weekday()]

        def b2b(d: date) -> float:
            if d.weekday() >= 5 or d in holidays:
                return 0.0
            return 0.4 if d.month == 12 and d.day > 20 else 1.0

        return {"web": (days, [demand_factor(d) * WEB_WEEKDAY[d.weekday()] for d in days]),
                "shop": (days, [shop(d) for d in days]), "b2b": (days, [b2b(d) for d in days])}

    def _local_time(self, rng: random.Random, channel: str, d: date) -> datetime:
        if channel == "web":
            hour = _pick(rng, WEB_HOURS)
        elif channel == "shop":
            hour = _pick(rng, SHOP_HOURS_WEEKDAY if d.weekday() < 5 else SHOP_HOURS_WEEKEND)
        else:
            hour = _pick(rng, B2B_HOURS)
        return datetime(d.year, d.month, d.day, hour, rng.randrange(60), rng.randrange(60))

    def _items(self, rng: random.Random, m: Month, c: Customer, channel: str
               ) -> list[tuple[Product, int, float]]:
        n_lines = rng.choices((1, 2, 3, 4), (60, 28, 9, 3))[0]
        weights = []
        for p in CATALOGUE:
            w = p.w_b2b if c.is_b2b else p.w_consumer
            if p.seasonal and m[1] not in (11, 12):
                w = 0.0
            if m[1] in (11, 12) and not c.is_b2b and p.category in ("Equipment", "Accessories"):
                w *= 1.8
            if p.category == "Subscription" and (c.sub_product or channel == "shop"):
                w = 0.0
            weights.append(w)
        items = []
        for _ in range(n_lines):
            i = rng.choices(range(len(CATALOGUE)), weights)[0]
            p = CATALOGUE[i]
            weights[i] = 0.0
            if p.category == "Subscription":  # at most one subscription per order
                weights = [0.0 if q.category == "Subscription" else w
                           for q, w in zip(CATALOGUE, weights)]
            items.append((p, self._quantity(rng, p, c.is_b2b), 0.0))
            if not any(weights):
                break
        return items

    @staticmethod
    def _quantity(rng: random.Random, p: Product, b2b: bool) -> int:
        if p.category == "Coffee":
            return rng.choice((4, 5, 6, 8, 10, 12, 15, 20)) if b2b else \
                rng.choices((1, 2, 3, 4), (58, 30, 8, 4))[0]
        if p.category == "Equipment":
            return rng.choices((1, 2), (85, 15))[0] if b2b else 1
        if p.category == "Accessories":
            return rng.choices((1, 2, 5, 10), (40, 30, 20, 10))[0] if b2b else \
                rng.choices((1, 2, 3), (78, 18, 4))[0]
        return 1

    @staticmethod
    def _discount(rng: random.Random, order: Order) -> None:
        """Consumer: one discount code per order; b2b: agreed discount on coffee/subscriptions."""
        c, d = order.customer, order.local.date()
        if c.is_b2b:
            disc = {"Coffee": c.b2b_discount, "Subscription": c.b2b_discount}
        elif d.month == 11 and 0 <= (d - black_friday(d.year)).days <= 3:
            v = rng.choices((0.0, 0.15, 0.20), (40, 35, 25))[0]
            disc = {"Coffee": v, "Equipment": v, "Accessories": v}
        else:
            v = rng.choices((0.0, 0.05, 0.10, 0.15, 0.20), (88, 5, 4.5, 1.7, 0.8))[0]
            disc = {"Coffee": v, "Equipment": v, "Accessories": v}
        order.items = [(p, q, disc.get(p.category, 0.0)) for p, q, _ in order.items]

    def simulate(self, m: Month) -> MonthSales:
        """Generate the orders of month ``m`` and build its export rows."""
        rng = seeded("sales", m)
        mi = month_index(m)
        n_days = calendar.monthrange(*m)[1]
        years = (mi - month_index(REFERENCE_MONTH)) / 12
        target = round(BASE_ORDERS * (1 + GROWTH_PER_YEAR) ** years * SEASONALITY[m[1] - 1]
                       * rng.uniform(0.95, 1.05))
        orders: list[Order] = []
        for c in [c for c in self.customers if c.sub_product is not None]:  # nightly renewal run
            if rng.random() < 0.08:
                c.sub_product = None
                continue
            local = datetime(m[0], m[1], min(c.sub_day, n_days), rng.randint(0, 1),
                             rng.randrange(60), rng.randrange(60))
            orders.append(Order(local, c, "b2b" if c.is_b2b else "web",
                                [(c.sub_product, 1, c.b2b_discount)]))
        existing = list(self.customers)
        cum = list(accumulate(c.loyalty * (0.1 + 0.9 * 0.72 ** (mi - c.last_mi)) for c in existing))
        day_weights = self._day_weights(m)
        n_regular = max(target - len(orders), target // 2)
        n_midnight = rng.randint(3, 5)  # guaranteed orders between 00:00 and 01:00 on the 1st
        for k in range(n_regular):
            while True:
                if rng.random() < P_NEW_CUSTOMER:
                    c = self._new_customer(rng, mi)
                else:
                    c = existing[bisect.bisect_right(cum, rng.random() * cum[-1])]
                if k >= n_midnight or not c.is_b2b:
                    break
            if k < n_midnight:
                channel = "web"
                local = datetime(m[0], m[1], 1, 0, rng.randrange(60), rng.randrange(60))
            else:
                channel = "b2b" if c.is_b2b else (
                    "shop" if rng.random() < SHOP_PROBABILITY[c.region] else "web")
                days, weights = day_weights[channel]
                local = self._local_time(rng, channel, rng.choices(days, weights)[0])
            order = Order(local, c, channel, self._items(rng, m, c, channel))
            self._discount(rng, order)
            orders.append(order)
        orders.sort(key=lambda o: o.local)
        rows = self._rows(rng, orders, mi)
        restated_rng = seeded("restatement", m)
        restated = [r._replace(status="returned")
                    if r.status == "completed" and restated_rng.random() < RESTATED_RETURN_RATE
                    else r for r in self.tail]
        first_tail_day = date(m[0], m[1], n_days) - timedelta(days=LAST_DAYS_REEXPORTED - 1)
        self.tail = [r for r in rows if r.local.date() >= first_tail_day]
        all_rows = sorted(restated + rows, key=lambda r: (r.order_ts, r.order_id, r.line_id))
        return MonthSales(m, all_rows, [(o.local, f"C-{o.customer.cid:05d}") for o in orders],
                          len(orders))

    def _rows(self, rng: random.Random, orders: list[Order], mi: int) -> list[SaleRow]:
        rows = []
        for o in orders:
            oid = f"SO-{self.next_order_id:06d}"
            self.next_order_id += 1
            c = o.customer
            c.last_mi = mi
            cancelled = rng.random() < (0.03 if len(o.items) == 1 and
                                        o.items[0][0].category == "Subscription" else 0.04)
            ts = to_utc_text(o.local)
            for line_id, (p, qty, disc) in enumerate(o.items, start=1):
                status = "cancelled" if cancelled else (
                    "returned" if rng.random() < RETURN_RATE[p.category] else "completed")
                if p.category == "Subscription" and status == "completed" and c.sub_product is None:
                    c.sub_product, c.sub_day = p, min(o.local.day, 28)
                rows.append(SaleRow(oid, line_id, ts, f"C-{c.cid:05d}", c.region, o.channel,
                                    p.name, p.category, qty, p.price, disc, "DKK", status, o.local))
        return rows
