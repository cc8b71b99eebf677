"""The app's settings: local address only, no traceback shown, bounded uploads."""

from __future__ import annotations

import tomllib

import settings
from operators.limits import MAX_FILE_BYTES


def test_streamlit_config_is_safe_by_default():
    config = tomllib.loads((settings.PROJECT_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"
    assert config["client"]["showErrorDetails"] is False
    assert config["server"]["maxUploadSize"] * 1024 * 1024 >= MAX_FILE_BYTES
    assert config["server"]["maxUploadSize"] <= 100
    assert config["server"]["enableXsrfProtection"] is True
