"""The vocabulary of graphlink, named once: tables, columns, identifier kinds, node kinds.

Every other module speaks these names. The tables are those of CONTRACT.md
section 1; the identifier kinds are DESIGN.md's identifier model.

>>> TABLES["shops"].id_column
'shop_id'
>>> [t.name for t in TABLES.values() if t.required]
['shops', 'accounts']
>>> node_id("device", "d-88")
'device:d-88'
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "Table",
    "TABLES",
    "STATUSES",
    "VERDICTS",
    "IDENTIFIER_KINDS",
    "NODE_SHOP",
    "NODE_ACCOUNT",
    "node_id",
    "split_node_id",
]


@dataclass(frozen=True)
class Table:
    """One table of the standard dataset layout.

    ``required_columns`` must be present in the header; ``required_values``
    must be non-blank in every row. ``references`` maps a column to the table
    whose id it must name. ``one_of`` lists column groups of which a row needs
    at least one non-blank value. ``required_when`` maps a column to the
    ``(column, value)`` condition under which it must be non-blank.
    """

    name: str
    required: bool
    required_columns: tuple[str, ...]
    optional_columns: tuple[str, ...] = ()
    id_column: str | None = None
    required_values: tuple[str, ...] = ()
    date_columns: tuple[str, ...] = ()
    float_columns: dict[str, tuple[float, float]] = field(default_factory=dict)
    choices: dict[str, tuple[str, ...]] = field(default_factory=dict)
    references: dict[str, str] = field(default_factory=dict)
    one_of: tuple[tuple[str, ...], ...] = ()
    required_when: dict[str, tuple[str, str]] = field(default_factory=dict)
    # optional columns added after contract version 1: few exports carry them, so
    # their absence is not worth a line in a summary
    extension_columns: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required_columns + self.optional_columns


STATUSES = ("active", "banned", "closed")
VERDICTS = ("fake", "genuine")

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "shops", True, ("shop_id", "name", "created_at", "status"),
            ("banned_at", "ban_reason", "category"),
            id_column="shop_id",
            required_values=("shop_id", "name", "created_at", "status"),
            date_columns=("created_at", "banned_at"),
            choices={"status": STATUSES},
            required_when={"banned_at": ("status", "banned")},
        ),
        Table(
            "accounts", True, ("account_id", "shop_id"),
            ("holder_name", "id_number", "phone", "email", "created_at", "date_of_birth"),
            id_column="account_id",
            required_values=("account_id", "shop_id"),
            date_columns=("created_at",),
            references={"shop_id": "shops"},
            extension_columns=("date_of_birth",),
        ),
        Table(
            "devices", False, ("account_id",), ("device_id", "ip", "seen_at"),
            required_values=("account_id",),
            date_columns=("seen_at",),
            references={"account_id": "accounts"},
            one_of=(("device_id", "ip"),),
        ),
        Table(
            "addresses", False, ("shop_id", "address"), ("lat", "lon", "first_seen"),
            required_values=("shop_id", "address"),
            date_columns=("first_seen",),
            float_columns={"lat": (-90.0, 90.0), "lon": (-180.0, 180.0)},
            references={"shop_id": "shops"},
        ),
        Table(
            "payments", False, ("shop_id", "endpoint"),
            ("method", "holder_name", "first_seen"),
            required_values=("shop_id", "endpoint"),
            date_columns=("first_seen",),
            references={"shop_id": "shops"},
        ),
        Table(
            "disputes", False, ("shop_id",), ("opened_at", "reason"),
            required_values=("shop_id",),
            date_columns=("opened_at",),
            references={"shop_id": "shops"},
        ),
        Table(
            "test_buys", False, ("shop_id",), ("bought_at", "verdict"),
            required_values=("shop_id",),
            date_columns=("bought_at",),
            choices={"verdict": VERDICTS},
            references={"shop_id": "shops"},
        ),
    )
}

# Identifier kinds of the identity graph: (kind, canonical value) is a node.
IDENTIFIER_KINDS = (
    "device",
    "ip",
    "phone",
    "email",
    "id_number",
    "birth_date",
    "holder_name",
    "address",
    "payment",
    "shop_name",
)

NODE_SHOP = "shop"
NODE_ACCOUNT = "account"


def node_id(kind: str, value: str) -> str:
    """The graph node key of a shop, account or identifier.

    >>> node_id("shop", "S1")
    'shop:S1'
    """
    return f"{kind}:{value}"


def split_node_id(key: str) -> tuple[str, str]:
    """Inverse of :func:`node_id`.

    >>> split_node_id("email:a@b.c")
    ('email', 'a@b.c')
    """
    kind, _, value = key.partition(":")
    return kind, value
