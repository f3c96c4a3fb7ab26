"""One price value type crosses the layers: readers, config, store, scoring and API.

probes/pricing/model.py Price (with PriceTier) is the only price class; the table row, the
config model and the API schema are its boundaries, with the same field names, and each is
converted in one place. These tests make a new figure fail loudly where it was forgotten.
"""

from __future__ import annotations

import ast
from dataclasses import fields
from datetime import date
from pathlib import Path

import yaml
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import service.scoring.evidence as evidence
from probes.pricing import READERS
from probes.pricing.model import FIGURES, Price, PriceTier
from service.api.schemas import PriceOut
from service.config.candidates import PriceConfig
from service.prices.rows import as_price, as_row
from service.store.models import PricePoint
from tests.clock import T0

ROOT = Path(__file__).resolve().parent.parent
# Every figure set, each to its own value, and a tier with every tier figure.
FULL = Price(**{name: float(n + 1) for n, name in enumerate(FIGURES)},  # type: ignore[arg-type]
             source="litellm", effective_at=T0, tiers=(PriceTier(200_000, 2.0, 4.0, 0.5),))


def test_scoring_reads_the_same_class_the_readers_make() -> None:
    assert evidence.Price is Price and evidence.PriceTier is PriceTier


def _price_classes() -> set[str]:
    """Classes in probes/ and service/ with an `input_per_mtok` field, as path:name."""
    found = set()
    for path in [*(ROOT / "probes").rglob("*.py"), *(ROOT / "service").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                    isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
                    and item.target.id == "input_per_mtok" for item in node.body):
                found.add(f"{path.relative_to(ROOT)}:{node.name}")
    return found


def test_no_price_shape_but_the_value_type_and_its_three_boundaries() -> None:
    assert _price_classes() == {
        "probes/pricing/model.py:Price", "probes/pricing/model.py:PriceTier",
        "service/store/models.py:PricePoint",  # the table row
        "service/config/candidates.py:PriceConfig",  # what a person writes
        "service/api/schemas.py:PriceOut",  # what the API shows
    }


def test_the_table_and_the_api_hold_every_figure_and_the_config_no_other() -> None:
    figures = {*FIGURES, "tiers"}
    assert figures <= set(PricePoint.model_fields)
    assert figures <= set(PriceOut.model_fields)
    assert {name for name in PriceConfig.model_fields if name.endswith("_per_mtok")} <= figures
    assert [f.name for f in fields(PriceTier)] == [
        "above_input_tokens", "input_per_mtok", "output_per_mtok", "cached_input_per_mtok"]


def test_a_price_is_stored_and_read_back_whole(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        session.add(as_row("a/x", FULL, T0))
    with Session(engine) as session:
        row = session.exec(select(PricePoint)).one()
        assert (row.candidate_id, row.source, row.effective_at) == ("a/x", "litellm", T0)
        assert as_price(row) == FULL


def test_the_api_shows_every_figure() -> None:
    out = PriceOut.of("a/x", FULL).model_dump()
    assert out == {"candidate": "a/x", "source": "litellm", "effective_at": T0,
                   **FULL.figures()}
    assert out["tiers"] == [{"above_input_tokens": 200_000, "input_per_mtok": 2.0,
                             "output_per_mtok": 4.0, "cached_input_per_mtok": 0.5}]


def test_the_config_figures_become_a_price_from_their_source() -> None:
    cfg = PriceConfig(source="litellm", input_per_mtok=1.0, output_per_mtok=2.0,
                      cached_input_per_mtok=0.5, as_of=date(2026, 1, 1))
    assert cfg.as_price(T0) == Price(1.0, 2.0, 0.5, "litellm", T0)
    assert PriceConfig(input_per_mtok=1.0, output_per_mtok=2.0).as_price() == Price(1.0, 2.0)
    assert PriceConfig(source="litellm", input_per_mtok=1.0).as_price(T0) is None


def test_a_negotiated_entry_takes_every_figure_of_the_value_type() -> None:
    entry = FULL.figures()
    body = yaml.safe_dump({"prices": {"a/x": entry}}).encode()
    prices = READERS["yaml"](body, None)
    assert prices.errors == {}
    assert prices.quotes["a/x"] == Price(**{**vars(FULL), "source": "yaml", "effective_at": None})
