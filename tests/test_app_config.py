"""Nothing leaves the machine and no developer chrome (issue 16.11): the Streamlit
settings a user's ``streamlit run app.py`` reads, and the page icon."""

from __future__ import annotations

from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]


def test_streamlit_config_turns_off_usage_stats_and_the_deploy_button():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["browser"]["gatherUsageStats"] is False
    assert config["client"]["toolbarMode"] == "minimal"


def test_page_icon_is_a_local_file_not_a_font_host_icon():
    source = (ROOT / "app.py").read_text(encoding="utf-8")
    assert 'page_icon=":material' not in source and "page_icon=ICON" in source
    assert (ROOT / "assets" / "favicon.png").is_file()
