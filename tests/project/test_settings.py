from __future__ import annotations

import re

import pytest

from services.settings import DEFAULT_DATA_DIR, SETTINGS, Settings
from tests.paths import README


def readme_settings_table() -> dict[str, str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Settings", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| `([A-Z_]+)` \| `([^`]*)` \| .+ \|$", section, flags=re.M))


def test_readme_lists_every_setting_with_its_default() -> None:
    assert readme_settings_table() == {s.env: s.default for s in SETTINGS}


def test_every_setting_has_help_text() -> None:
    assert all(len(s.help) > 20 for s in SETTINGS)


def test_default_database_is_a_sqlite_file_under_data() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == f"sqlite:///{DEFAULT_DATA_DIR / 'minqing.db'}"


def test_database_url_comes_from_the_environment() -> None:
    url = "postgresql+psycopg://u@127.0.0.1/x"
    assert Settings.from_env({"DATABASE_URL": url}).database_url == url


def test_an_unknown_demo_scale_is_refused() -> None:
    with pytest.raises(ValueError, match="DEMO_SCALE"):
        Settings.from_env({"DEMO_SCALE": "huge"})
