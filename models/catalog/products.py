"""Products: the menu items a store sells, with the potency and weight the limit engine needs."""

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import utcnow
from models.model import Model
from models.rules.cart_lines import LIMIT_CATEGORIES
from models.stores.store import Store

if TYPE_CHECKING:
    from models.stock.packages import Package

MENU_CATEGORIES = (
    "flower",
    "preroll",
    "vape",
    "concentrate",
    "edible",
    "beverage",
    "tincture",
    "topical",
    "accessory",
)
MENU_LABELS = {
    "flower": "Flower",
    "preroll": "Pre-rolls",
    "vape": "Vapes",
    "concentrate": "Concentrates",
    "edible": "Edibles",
    "beverage": "Beverages",
    "tincture": "Tinctures",
    "topical": "Topicals",
    "accessory": "Accessories",
}
STRAIN_TYPES = ("indica", "sativa", "hybrid", "cbd", "none")
SOLD_BY = ("each", "weight")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Product(Model):
    """A menu item of one store; packages hold its stock."""

    __tablename__ = "product"
    __table_args__ = (
        UniqueConstraint("store_id", "sku"),
        CheckConstraint(_in("category", MENU_CATEGORIES), name="category"),
        CheckConstraint(
            f"limit_category IS NULL OR {_in('limit_category', LIMIT_CATEGORIES)}",
            name="limit_category",
        ),
        CheckConstraint(_in("strain_type", STRAIN_TYPES), name="strain_type"),
        CheckConstraint(_in("sold_by", SOLD_BY), name="sold_by"),
        CheckConstraint("price_cents >= 0", name="price_nonnegative"),
        CheckConstraint("net_weight_mg IS NULL OR net_weight_mg > 0", name="net_weight_positive"),
        CheckConstraint("thc_mg IS NULL OR thc_mg >= 0", name="thc_mg_nonnegative"),
        CheckConstraint(
            "thc_pct_bp IS NULL OR (thc_pct_bp >= 0 AND thc_pct_bp <= 10000)", name="thc_pct_range"
        ),
        CheckConstraint(
            "cbd_pct_bp IS NULL OR (cbd_pct_bp >= 0 AND cbd_pct_bp <= 10000)", name="cbd_pct_range"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(160))
    brand: Mapped[str] = mapped_column(String(80))
    category: Mapped[str] = mapped_column(String(16))
    limit_category: Mapped[str | None] = mapped_column(String(20))
    strain_type: Mapped[str] = mapped_column(String(8), default="none")
    strain: Mapped[str | None] = mapped_column(String(80))
    # Potency: percent in hundredths (2150 = 21.50 %), milligrams per unit.
    thc_pct_bp: Mapped[int | None]
    cbd_pct_bp: Mapped[int | None]
    thc_mg: Mapped[int | None]
    cbd_mg: Mapped[int | None]
    net_weight_mg: Mapped[int | None]
    # Sold by each: price per unit. Sold by weight: price per gram.
    sold_by: Mapped[str] = mapped_column(String(8), default="each")
    price_cents: Mapped[int]
    description: Mapped[str] = mapped_column(Text, default="")
    image_path: Mapped[str | None] = mapped_column(String(200))
    online_visible: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    store: Mapped[Store] = relationship()
    packages: Mapped[list["Package"]] = relationship(
        back_populates="product", order_by="Package.expires_on"
    )

    @property
    def category_label(self) -> str:
        """Return the menu section's name."""
        return MENU_LABELS[self.category]

    def __repr__(self) -> str:
        return f"<Product {self.sku}>"
