from click.testing import CliRunner

from mlops_magics import __version__
from mlops_magics.cli import main


def test_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_init_and_status(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["init", str(tmp_path / "ws")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ws" / "workspace.json").is_file()
    result = runner.invoke(main, ["--home", str(tmp_path / "ws"), "status"])
    assert result.exit_code == 0
    assert str(tmp_path / "ws") in result.output
    assert "(not created yet)" not in result.output
