"""The schema of a made-up service, used only to test the kit's persistence.

Declared the way a service declares its models: its own ``MetaData`` with the
kit's naming convention, the kit's tables added to it, a table of its own.
"""

from datetime import datetime

from sqlalchemy import MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from customs_kit.db import BIG_ID, NAMING_CONVENTION, UTCDateTime, kit_metadata_tables


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime}  # noqa: RUF012


class Widget(Base):
    __tablename__ = "widgets"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime]


kit_metadata_tables(Base.metadata)
metadata = Base.metadata
