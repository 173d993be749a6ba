from pathlib import Path

from mlops_magics.config import MLOps, get_config


def _settings(ip):
    return next(c for c in ip.configurables if isinstance(c, MLOps))


def test_config_lists_every_setting_with_help(ip, capsys):
    ip.run_line_magic("config", "MLOps")
    out = capsys.readouterr().out
    for name, trait in MLOps.class_traits(config=True).items():
        assert f"MLOps.{name}=" in out
        assert trait.help.split()[0] in out


def test_config_sets_home_the_way_users_do(ip, tmp_path):
    ip.run_line_magic("config", f"MLOps.home = '{tmp_path / 'elsewhere'}'")
    assert get_config() is _settings(ip)
    assert get_config().resolved_home() == str(tmp_path / "elsewhere")


def test_config_set_before_load_is_honoured(ip_empty, tmp_path):
    ip_empty.run_line_magic("config", f"MLOps.home = '{tmp_path / 'early'}'")
    ip_empty.run_line_magic("load_ext", "mlops_magics")
    try:
        assert get_config().resolved_home() == str(tmp_path / "early")
    finally:
        ip_empty.run_line_magic("unload_ext", "mlops_magics")
        ip_empty.config.pop("MLOps", None)


def test_env_vars_win_over_settings(tmp_path, monkeypatch):
    cfg = MLOps(home=str(tmp_path / "from-config"), tracking_uri="sqlite:///x.db")
    assert cfg.resolved_home() == str(tmp_path / "from-config")
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path / "from-env"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert cfg.resolved_home() == str(tmp_path / "from-env")
    assert cfg.resolved_tracking_uri() == "http://127.0.0.1:5000"


def test_default_home_is_beside_the_notebook(tmp_path):
    assert MLOps().resolved_home() == str(Path(tmp_path) / ".mlops")


def test_environ_sets_for_the_block_and_puts_back_what_was_there(monkeypatch):
    import os

    from mlops_magics.config import environ

    monkeypatch.setenv("MLOPS_T_A", "before")
    monkeypatch.delenv("MLOPS_T_B", raising=False)
    monkeypatch.delenv("MLOPS_T_KEEP", raising=False)
    try:
        with environ(keep=("MLOPS_T_KEEP",), MLOPS_T_A="in", MLOPS_T_B="in"):
            assert os.environ["MLOPS_T_A"] == os.environ["MLOPS_T_B"] == "in"
            os.environ["MLOPS_T_KEEP"] = "set by a call inside"
            raise RuntimeError("the block fails")
    except RuntimeError:
        pass
    assert os.environ["MLOPS_T_A"] == "before"
    assert "MLOPS_T_B" not in os.environ and "MLOPS_T_KEEP" not in os.environ
